// The HTTP row's baseline: a bare `node:http` server in a process of its own answering every
// request with a resolution-sized JSON body and the same kind of headers, doing nothing else.
// Plain JavaScript run by plain `node` (no tsx loaded). Sends its URL to the parent over IPC;
// exits when the parent disconnects.
import { Buffer } from 'node:buffer';
import { createServer } from 'node:http';

const body = JSON.stringify({ version: 'v1', url: 'https://checkout-v1.bench.example', revision: 1, reason: 'weighted' });
const server = createServer((_request, response) => {
  response.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'cache-status': 'traffic-manager; hit; ttl=1',
  });
  response.end(body);
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  process.send?.({ url: `http://127.0.0.1:${address.port}` });
});
process.on('disconnect', () => server.close(() => process.exit(0)));
