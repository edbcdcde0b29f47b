import { ConfigError } from '#shared/errors/http-errors';
import { awsEnv, httpEnv, parseEnv, tableEnv, upstreamEnv } from '#shared/config';

describe('parseEnv', () => {
  it('fails fast, naming every missing or malformed variable', () => {
    const parse = () => parseEnv({ ...awsEnv, ...tableEnv }, { AWS_ENDPOINT_URL: 'not a url' });
    expect(parse).toThrow(ConfigError);
    expect(parse).toThrow(/AWS_REGION/);
    expect(parse).toThrow(/TABLE_NAME/);
    expect(parse).toThrow(/AWS_ENDPOINT_URL/);
  });

  it('returns a frozen, typed object', () => {
    const config = parseEnv({ ...awsEnv, ...tableEnv }, { AWS_REGION: 'eu-west-1', TABLE_NAME: 'routes' });
    expect(config).toEqual({ AWS_REGION: 'eu-west-1', TABLE_NAME: 'routes', AWS_REQUEST_TIMEOUT_MS: 2000, AWS_CONNECT_TIMEOUT_MS: 1000 });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('refuses a blank name rather than defaulting it', () => {
    expect(() => parseEnv(tableEnv, { TABLE_NAME: '  ' })).toThrow(/TABLE_NAME/);
  });

  it('reads flags strictly and lists as trimmed items', () => {
    expect(parseEnv(upstreamEnv, {})).toEqual({ ALLOW_HTTP_UPSTREAMS: false, ALLOW_PRIVATE_UPSTREAMS: false });
    expect(() => parseEnv(upstreamEnv, { ALLOW_HTTP_UPSTREAMS: 'yes' })).toThrow(/ALLOW_HTTP_UPSTREAMS/);
    expect(parseEnv(httpEnv, { CORS_ALLOWED_ORIGINS: ' https://a.example , ,https://b.example' })).toEqual({
      CORS_ALLOWED_ORIGINS: ['https://a.example', 'https://b.example'],
    });
  });
});
