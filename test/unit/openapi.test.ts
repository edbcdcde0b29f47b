import { endpointList } from '#shared/http/endpoints';
import { buildOpenApiDocument } from '#shared/http/openapi';

interface Operation {
  operationId: string;
  parameters: { name: string; in: string }[];
  responses: Record<string, unknown>;
  requestBody?: unknown;
  security: unknown[];
}

const document = buildOpenApiDocument() as {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
};

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1', () => {
    expect(document.openapi).toBe('3.1.0');
  });

  it.each(endpointList.map((endpoint) => [endpoint.id, endpoint] as const))(
    'documents %s with its method, path, parameters and responses',
    (_id, endpoint) => {
      const operation = document.paths[endpoint.path]?.[endpoint.method.toLowerCase()];
      expect(operation?.operationId).toBe(endpoint.id);
      const pathNames = [...endpoint.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
      expect(operation?.parameters.filter((p) => p.in === 'path').map((p) => p.name)).toEqual(pathNames);
      for (const status of Object.keys(endpoint.responses)) expect(operation?.responses[status]).toBeDefined();
      expect(operation?.requestBody !== undefined).toBe(endpoint.body !== undefined);
      expect(operation?.security.length === 0).toBe(endpoint.scopes === null);
    },
  );

  it('has no operation that is not in the endpoint table', () => {
    const operations = Object.values(document.paths).flatMap((methods) => Object.values(methods));
    expect(operations).toHaveLength(endpointList.length);
  });

  it('resolves every $ref to a component', () => {
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)].map((m) => m[1]);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) expect(document.components.schemas).toHaveProperty(ref ?? '');
    expect(JSON.stringify(document)).not.toContain('#/$defs/');
  });
});

describe('headers in the OpenAPI document', () => {
  const parameterNames = (path: string, method: string): string[] =>
    (document.paths[path]?.[method]?.parameters ?? []).filter((p) => p.in === 'header').map((p) => p.name);

  it('documents preconditions and idempotency on every write, and If-None-Match on the snapshot', () => {
    for (const endpoint of endpointList.filter((e) => e.method !== 'GET')) {
      expect(parameterNames(endpoint.path, endpoint.method.toLowerCase())).toEqual(
        expect.arrayContaining(['If-Match', 'If-None-Match', 'Idempotency-Key', 'x-request-id']),
      );
    }
    expect(parameterNames('/v1/tenants/{tenant}/snapshot', 'get')).toContain('If-None-Match');
    expect(parameterNames('/v1/tenants/{tenant}/routes', 'get')).not.toContain('If-Match');
  });

  it('documents ETag on route responses and Retry-After on 429 and 503', () => {
    const getRoute = document.paths['/v1/tenants/{tenant}/routes/{service}/{env}']?.get?.responses as Record<
      string,
      { headers?: Record<string, unknown> }
    >;
    expect(Object.keys(getRoute['200']?.headers ?? {})).toEqual(['x-request-id', 'ETag']);
    expect(Object.keys(getRoute['429']?.headers ?? {})).toContain('Retry-After');
    expect(Object.keys(getRoute['503']?.headers ?? {})).toContain('Retry-After');
  });
});
