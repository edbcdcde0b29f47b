// `node:http` for bundled functions, through `require` instead of an ESM import. Importing a
// builtin as ESM makes Node build a facade that reads every export once, and reading
// `http.WebSocket` (or CloseEvent, MessageEvent) loads undici: about 13 ms of every cold
// start, for a WebSocket client nothing here uses (Powertools' tracer imports `node:http`
// as ESM to patch outgoing requests). `require` returns the module without touching those
// getters. esbuild aliases `node:http` to this file (infra/constructs/service-function.ts).
import { createRequire } from 'node:module';

const http = createRequire(import.meta.url)('node:http');

export default http;
export const {
  METHODS,
  STATUS_CODES,
  Agent,
  ClientRequest,
  IncomingMessage,
  OutgoingMessage,
  Server,
  ServerResponse,
  createServer,
  validateHeaderName,
  validateHeaderValue,
  get,
  request,
  setMaxIdleHTTPParsers,
} = http;
