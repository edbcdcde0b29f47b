// Bench only (variant h of bench/bundles.ts): Powertools' tracer replaced by a no-op, to show
// what the tracer and the X-Ray SDK under it cost at cold start. Never deployed.
export class Tracer {
  captureAWSv3Client(client) {
    return client;
  }
}
export default { Tracer };
