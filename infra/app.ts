/**
 * The CDK app: `npx cdk synth -c stage=dev|prod` (dev by default). docs/deploy.md lists the
 * context keys: token settings (`-c jwksUrl=... -c issuer=... -c audience=...`, required for
 * prod), alarm subscriptions, `-c kmsKey=<arn>`, `-c githubRepository=owner/name` (adds the
 * account stack with the deploy roles), and more. A context mistake prints one line and
 * exits 1, not a stack trace.
 */
import { App } from 'aws-cdk-lib';
import { ContextError } from './stage.ts';
import { buildTrafficManager } from './traffic-manager.ts';

try {
  const app = new App();
  buildTrafficManager(app);
  app.synth();
} catch (error) {
  if (!(error instanceof ContextError)) throw error;
  console.error(`traffic-manager: ${error.message}`);
  process.exitCode = 1;
}
