/**
 * The CDK app: `npx cdk synth -c stage=dev|prod` (dev by default). Token settings come from
 * `-c jwksUrl=... -c issuer=... -c audience=...` (dev has placeholders, see infra/stage.ts);
 * `-c apiKeyRequired=true` makes usage-plan API keys mandatory on the /v1 methods.
 */
import { App } from 'aws-cdk-lib';
import { buildTrafficManager } from './traffic-manager.ts';

const app = new App();
buildTrafficManager(app);
app.synth();
