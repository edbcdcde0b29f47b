// Bench only (variant h of bench/bundles.ts): Powertools' tracer middleware as a no-op.
export const captureLambdaHandler = () => ({ before: () => undefined });
