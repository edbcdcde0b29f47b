import { ConfigError } from '#shared/errors/http-errors';

// Functions without scopes (health, OpenAPI) import the authorizer through the handler
// factory but are given no AUTH_* variables: importing must not need them.
process.env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AUTH_')));
const { authenticate } = await import('#shared/auth/authorizer');

describe('authorizer configuration', () => {
  it('fails the first authenticated call, naming the missing variables, and not the import', async () => {
    const error = await authenticate('Bearer a.b.c').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/AUTH_ISSUER.*AUTH_AUDIENCE/);
  });
});
