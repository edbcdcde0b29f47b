/** The OpenAPI document tells clients about resolve's Cache-Status and Age (API.md, "Stale answers are marked"). */
import { buildOpenApiDocument } from '#shared/http/openapi';

type Operation = { responses: Record<string, { headers?: Record<string, unknown> }> };

function operation(path: string): Operation {
  const document = buildOpenApiDocument() as { paths: Record<string, { get: Operation }> };
  const found = document.paths[path]?.get;
  if (found === undefined) throw new Error(`no GET ${path}`);
  return found;
}

describe('OpenAPI: resolve response headers', () => {
  it('documents Cache-Status and Age on the answers resolve gives itself (200, 404, 503)', () => {
    const { responses } = operation('/v1/tenants/{tenant}/resolve/{service}/{env}');
    for (const status of ['200', '404', '503']) {
      expect(Object.keys(responses[status]?.headers ?? {})).toEqual(expect.arrayContaining(['Cache-Status', 'Age']));
    }
    // Refused before the cache is consulted: no Cache-Status.
    expect(Object.keys(responses['401']?.headers ?? {})).not.toContain('Cache-Status');
  });

  it('adds them to no other endpoint', () => {
    expect(Object.keys(operation('/v1/tenants/{tenant}/routes/{service}/{env}').responses['200']?.headers ?? {})).not.toContain(
      'Cache-Status',
    );
  });
});
