/**
 * The OpenAPI 3.1 document, generated from the endpoint table and the same zod schemas that
 * validate requests (zod's own JSON Schema output, draft 2020-12, which OpenAPI 3.1 uses).
 */
import * as z from '../zod.ts';
import { RouteSchema } from '../domain/route.schema.ts';
import { ProblemSchema } from './common.schema.ts';
import { endpointList, type EndpointDefinition } from './endpoints.ts';

type JsonSchema = Record<string, unknown>;

interface Components {
  schemas: Record<string, JsonSchema>;
}

/** Points `#/$defs/<id>` references at `#/components/schemas/<renamed id>`. */
function rewriteRefs(value: unknown, renames: ReadonlyMap<string, string>): unknown {
  if (Array.isArray(value)) return value.map((item) => rewriteRefs(item, renames));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => {
        if (key === '$ref' && typeof inner === 'string' && inner.startsWith('#/$defs/')) {
          const id = inner.slice('#/$defs/'.length);
          return [key, `#/components/schemas/${renames.get(id) ?? id}`];
        }
        return [key, rewriteRefs(inner, renames)];
      }),
    );
  }
  return value;
}

/** Converts a schema, moving its `$defs` into the shared components. */
function toSchema(schema: z.ZodMiniType, io: 'input' | 'output', components: Components): JsonSchema {
  const converted = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  const { $defs, $schema: _dialect, ...rest } = converted as JsonSchema & { $defs?: Record<string, JsonSchema> };
  const definitions = Object.entries($defs ?? {});
  const renames = new Map<string, string>();
  for (const [id, definition] of definitions) {
    const existing = components.schemas[id];
    // Input and output shapes of one schema differ where it has defaults: keep both.
    const same =
      existing === undefined || JSON.stringify(existing) === JSON.stringify(rewriteRefs(definition, new Map()));
    renames.set(id, same ? id : `${id}Input`);
  }
  for (const [id, definition] of definitions) {
    components.schemas[renames.get(id) ?? id] = rewriteRefs(definition, renames) as JsonSchema;
  }
  return rewriteRefs(rest, renames) as JsonSchema;
}

function parameters(
  schema: z.ZodMiniType | undefined,
  location: 'path' | 'query',
  components: Components,
): JsonSchema[] {
  if (schema === undefined) return [];
  const converted = toSchema(schema, 'input', components) as {
    properties?: Record<string, JsonSchema>;
    required?: string[];
  };
  return Object.entries(converted.properties ?? {}).map(([name, property]) => ({
    name,
    in: location,
    required: location === 'path' || (converted.required ?? []).includes(name),
    schema: property,
  }));
}

const header = (name: string): JsonSchema => ({ $ref: `#/components/headers/${name}` });

/** Response headers, documented once and referenced by every response that carries them. */
const responseHeaders: Record<string, JsonSchema> = {
  RequestId: {
    description: "The caller's `x-request-id` if it sent one it can echo, else the gateway's request id.",
    schema: { type: 'string' },
  },
  ETag: { description: 'The entity tag: `"<revision>"` for a route, a digest for a snapshot.', schema: { type: 'string' } },
  RetryAfter: { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 1 } },
};

const problem = (description: string, retry = false): JsonSchema => ({
  description,
  headers: { 'x-request-id': header('RequestId'), ...(retry ? { 'Retry-After': header('RetryAfter') } : {}) },
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

const visibleAscii = (max: number): JsonSchema => ({ type: 'string', pattern: `^[\\x21-\\x7e]{1,${max}}$` });

/** Request headers the endpoint reads: correlation, preconditions, idempotency. */
function headerParameters(endpoint: EndpointDefinition): JsonSchema[] {
  const parameters: JsonSchema[] = [
    { name: 'x-request-id', in: 'header', required: false, schema: visibleAscii(200), description: 'Echoed on the response.' },
  ];
  if (endpoint.method !== 'GET') {
    parameters.push(
      {
        name: 'If-Match',
        in: 'header',
        required: false,
        description: 'Write only if the route is at this revision (`"7"`), or exists (`*`); else 412.',
        schema: { type: 'string', pattern: '^(\\*|"[1-9][0-9]{0,14}")$' },
      },
      {
        name: 'If-None-Match',
        in: 'header',
        required: false,
        description: '`*`: write only if the route does not exist; else 412.',
        schema: { type: 'string', enum: ['*'] },
      },
      {
        name: 'Idempotency-Key',
        in: 'header',
        required: false,
        description: 'Repeats with the same key and body within 24 h replay the first response.',
        schema: visibleAscii(255),
      },
    );
  } else if (endpoint.responses[304] !== undefined) {
    parameters.push({
      name: 'If-None-Match',
      in: 'header',
      required: false,
      description: 'The ETag last seen: 304 if nothing changed.',
      schema: { type: 'string' },
    });
  }
  return parameters;
}

/** Error statuses every endpoint can answer, by what the endpoint does. */
function errorResponses(endpoint: EndpointDefinition): Record<string, JsonSchema> {
  const responses: Record<string, JsonSchema> = {
    '429': problem('Throttled; see Retry-After.', true),
    '500': problem('Unexpected error; the body carries only the request id.'),
    '503': problem('A dependency is unavailable; see Retry-After.', true),
  };
  if (endpoint.scopes !== null) {
    responses['401'] = problem('Missing or invalid bearer token.');
    responses['403'] = problem('The token lacks the required scope.');
    responses['404'] = problem('No such resource (or another tenant\'s).');
  }
  if (endpoint.params !== undefined || endpoint.query !== undefined || endpoint.body !== undefined) {
    responses['400'] = problem('Invalid input; `errors` names each field.');
  }
  if (endpoint.method !== 'GET') {
    responses['409'] = problem('Conflict with the current state, or a duplicate request in flight.');
    responses['412'] = problem('If-Match or If-None-Match did not hold.');
    responses['422'] = problem('Idempotency-Key reused with a different body.');
  }
  if (endpoint.body !== undefined) {
    responses['413'] = problem('Body over 64 KiB.');
    responses['415'] = problem('Body is not application/json.');
  }
  return responses;
}

export function buildOpenApiDocument(endpoints: readonly EndpointDefinition[] = endpointList): JsonSchema {
  const components: Components = { schemas: {} };
  toSchema(ProblemSchema, 'output', components);
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const endpoint of endpoints) {
    const responses: Record<string, JsonSchema> = errorResponses(endpoint);
    for (const [status, schema] of Object.entries(endpoint.responses)) {
      // Routes carry their revision as ETag; a snapshot (200 or 304) its digest.
      const tagged = schema === RouteSchema || endpoint.responses[304] !== undefined;
      const headers = { 'x-request-id': header('RequestId'), ...(tagged ? { ETag: header('ETag') } : {}) };
      responses[status] =
        schema === null
          ? { description: status === '304' ? 'Not modified.' : 'No content.', headers }
          : {
              description: 'Success.',
              headers,
              content: { 'application/json': { schema: toSchema(schema, 'output', components) } },
            };
    }
    const operation: JsonSchema = {
      operationId: endpoint.id,
      summary: endpoint.summary,
      parameters: [
        ...parameters(endpoint.params, 'path', components),
        ...parameters(endpoint.query, 'query', components),
        ...headerParameters(endpoint),
      ],
      responses,
      ...(endpoint.scopes === null ? { security: [] } : { security: [{ bearer: [...endpoint.scopes] }] }),
      ...(endpoint.body === undefined
        ? {}
        : {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: toSchema(endpoint.body, 'input', components) } },
            },
          }),
    };
    // Headers the endpoint itself adds (resolve's Cache-Status and Age), on the answers it gives.
    for (const [status, response] of Object.entries(responses)) {
      if (endpoint.responseHeaders !== undefined && !['400', '401', '403', '429', '500'].includes(status)) {
        response.headers = { ...(response.headers as JsonSchema), ...endpoint.responseHeaders };
      }
    }
    (paths[endpoint.path] ??= {})[endpoint.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'traffic-manager',
      version: '1.0.0',
      description: 'Control plane for routing traffic between versions of a service.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths,
    components: {
      ...components,
      headers: responseHeaders,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    },
  };
}
