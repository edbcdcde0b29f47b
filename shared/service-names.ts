/**
 * Service-wide names that the runtime code in shared/ needs and that infra/ and local/ also
 * use. They live here, not in infra/, so that shared/ (bundled into every function) never
 * imports the CDK app: infra/resources.ts re-exports them (test/unit/layering.test.ts).
 */

/** The EventBridge `source` of every event this service publishes (API.md, Events). */
export const eventSource = 'traffic-manager';
