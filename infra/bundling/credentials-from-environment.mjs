// The SDK clients' default credential provider, for Lambda: credentials from the environment
// only. The SDK's own chain (@aws-sdk/credential-provider-node) also bundles SSO, INI files,
// web identity, login, process, container and instance metadata providers and the nested
// STS/SSO clients they use (about 90 KiB minified in every function), none of which a Lambda
// function reaches: the runtime puts the execution role's credentials in AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN. esbuild aliases the chain to this file when
// bundling functions (infra/constructs/service-function.ts); tests, the local stack and
// scripts run unbundled and keep the full chain.
import { fromEnv } from '@aws-sdk/credential-provider-env';

export const defaultProvider = (init = {}) => fromEnv(init);
