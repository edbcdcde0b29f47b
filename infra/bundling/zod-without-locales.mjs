// zod's public entry (`zod` → v4/classic/external.js) without the `locales` and `core`
// namespaces. zod re-exports its API as the namespace `z`, and a namespace that code uses as
// a value keeps every member, so each bundle carried all ~50 locales (about 258 KiB minified)
// to print English messages. esbuild aliases `zod` to this file when bundling functions
// (infra/constructs/service-function.ts, bench/bundles.ts); TypeScript, Jest and tsx keep
// using the real package. The English locale is still installed: classic/schemas.js imports
// and configures it itself. Also left out, being unused here and heavy: `compile` and its
// kin (the schema compiler, ~29 KiB) and `fromJSONSchema` (~12 KiB);
// test/infra/bundle-budget.test.ts fails if code starts using any name left out. Paths are
// relative so that the alias does not apply to them again.
export * from '../../node_modules/zod/v4/classic/schemas.js';
export * from '../../node_modules/zod/v4/classic/checks.js';
export * from '../../node_modules/zod/v4/classic/errors.js';
export * from '../../node_modules/zod/v4/classic/parse.js';
export * from '../../node_modules/zod/v4/classic/compat.js';
export {
  globalRegistry,
  registry,
  config,
  memoizer,
  $output,
  $input,
  $brand,
  clone,
  regexes,
  treeifyError,
  prettifyError,
  formatError,
  flattenError,
  TimePrecision,
  util,
  NEVER,
  INVALID,
  toZod,
  getDiscriminatedOption,
} from '../../node_modules/zod/v4/core/index.js';
export { toJSONSchema } from '../../node_modules/zod/v4/core/json-schema-processors.js';
export { deepPartial } from '../../node_modules/zod/v4/classic/deep-partial.js';
export { input, output } from '../../node_modules/zod/v4/classic/in-out.js';
export { ZodISODateTime, ZodISODate, ZodISOTime, ZodISODuration } from '../../node_modules/zod/v4/classic/iso.js';
export * as iso from '../../node_modules/zod/v4/classic/iso.js';
export * as coerce from '../../node_modules/zod/v4/classic/coerce.js';
import * as z from './zod-without-locales.mjs';
export { z, z as default };
