import { PutVersionBodySchema } from '#shared/domain/route.schema';
import { ListRoutesQuerySchema, RevisionParamsSchema } from '#shared/http/common.schema';
import { parseOrThrow } from '#shared/http/validation';

describe('field errors', () => {
  it('names each unknown field in its own path', () => {
    expect(() => parseOrThrow(PutVersionBodySchema, { url: 'https://a.example', colour: 1, size: 2 }, 'body')).toThrow(
      expect.objectContaining({
        errors: [
          { path: 'colour', message: 'unknown field' },
          { path: 'size', message: 'unknown field' },
        ],
      }),
    );
  });
});

describe('numbers in paths and queries', () => {
  it.each(['0x10', '1e1', ' 5', '5.0', '-1', ''])('refuses limit=%j', (limit) => {
    expect(() => parseOrThrow(ListRoutesQuerySchema, { limit }, 'query', 'query')).toThrow(
      expect.objectContaining({ status: 400, errors: [expect.objectContaining({ path: 'query.limit' })] }),
    );
  });

  it('reads decimal digits, and defaults the limit to 50', () => {
    expect(parseOrThrow(ListRoutesQuerySchema, { limit: '100' }, 'query')).toEqual({ limit: 100 });
    expect(parseOrThrow(ListRoutesQuerySchema, {}, 'query')).toEqual({ limit: 50 });
    expect(
      parseOrThrow(RevisionParamsSchema, { tenant: 'a', service: 'b', env: 'c', revision: '12' }, 'path').revision,
    ).toBe(12);
  });
});
