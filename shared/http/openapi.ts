/**
 * The OpenAPI 3.1 document, generated from the endpoint table and the same zod schemas that
 * validate requests (zod's own JSON Schema output, draft 2020-12, which OpenAPI 3.1 uses).
 */
import { z } from 'zod';
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
function toSchema(schema: z.ZodType, io: 'input' | 'output', components: Components): JsonSchema {
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
  schema: z.ZodType | undefined,
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

const problem = (description: string): JsonSchema => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

/** Error statuses every endpoint can answer, by what the endpoint does. */
function errorResponses(endpoint: EndpointDefinition): Record<string, JsonSchema> {
  const responses: Record<string, JsonSchema> = {
    '429': problem('Throttled; see Retry-After.'),
    '500': problem('Unexpected error; the body carries only the request id.'),
    '503': problem('A dependency is unavailable; see Retry-After.'),
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
      responses[status] =
        schema === null
          ? { description: status === '304' ? 'Not modified.' : 'No content.' }
          : {
              description: 'Success.',
              content: { 'application/json': { schema: toSchema(schema, 'output', components) } },
            };
    }
    const operation: JsonSchema = {
      operationId: endpoint.id,
      summary: endpoint.summary,
      parameters: [
        ...parameters(endpoint.params, 'path', components),
        ...parameters(endpoint.query, 'query', components),
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
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    },
  };
}
