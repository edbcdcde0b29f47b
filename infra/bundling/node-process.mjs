// `node:process` for bundled functions: the global `process`, not an ESM import of the
// builtin. Importing it as ESM makes Node build a facade that reads every export once,
// `process.stdin` included, which sets up standard input: about 4–5 ms of every cold start
// (the SDK's user-agent code imports `env` and `versions` that way). A name not exported here
// fails the build loudly. esbuild aliases `node:process` to this file
// (infra/constructs/service-function.ts).
export default process;
export const { env, versions, platform, version, arch } = process;
