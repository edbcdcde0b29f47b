/**
 * A tiny client for e2e tests that speak real HTTP to the local API (test/support/local-stack.ts):
 * one request, the whole response read, headers in a `Headers` object, the body as text and,
 * when it is JSON, parsed.
 */

export interface ApiRequest {
  /** A full `Authorization` header value (`Bearer ...`); omitted when undefined. */
  authorization?: string;
  /** Serialised as JSON with `Content-Type: application/json`; a string is sent as is. */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  /** The body exactly as received. */
  text: string;
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  json: unknown;
}

export interface ApiClient {
  readonly baseUrl: string;
  request(method: string, path: string, request?: ApiRequest): Promise<ApiResponse>;
}

function parseJson(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function apiClient(baseUrl: string): ApiClient {
  return {
    baseUrl,
    async request(method, path, request = {}) {
      const headers: Record<string, string> = { ...request.headers };
      if (request.authorization !== undefined) headers.Authorization = request.authorization;
      let body: string | undefined;
      if (request.body !== undefined) {
        body = typeof request.body === 'string' ? request.body : JSON.stringify(request.body);
        headers['Content-Type'] ??= 'application/json';
      }
      const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
      const text = await response.text();
      return { status: response.status, headers: response.headers, text, json: parseJson(text) };
    },
  };
}

/** The RFC 9457 members every problem body of this API carries. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  [member: string]: unknown;
}

/** Asserts that `response` is a problem response with `status`, and returns its body. */
export function expectProblem(response: ApiResponse, status: number): Problem {
  expect({ status: response.status, body: response.text }).toMatchObject({ status });
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  expect(response.json).toMatchObject({
    type: expect.any(String),
    title: expect.any(String),
    status,
    detail: expect.any(String),
  });
  return response.json as Problem;
}
