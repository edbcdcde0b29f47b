/**
 * zod, as every module here imports it: `import * as z from '<relative path>/zod.ts'`.
 *
 * `zod/mini`, not classic zod: the same core (parsing, issues, messages, JSON Schema) behind
 * functions instead of methods (`z.optional(s)` for `s.optional()`, `s.check(z.minLength(1))`
 * for `s.min(1)`), so that esbuild keeps only what a function uses. Classic zod's methods
 * reach every schema type, so each bundle carried all of it (about 137 KiB minified, the
 * largest package in every bundle) and paid for compiling it at every cold start; this is
 * about 39 KiB. Figures: `npm run bench`, section 4.
 *
 * Mini installs no locale by itself; the English one is installed here, once, so that messages
 * read as they always did.
 */
import { clone, config, globalRegistry } from 'zod/mini';
import type { $ZodType, GlobalMeta } from 'zod/v4/core';
import { en } from 'zod/locales';

config(en());

export * from 'zod/mini';
/** What `parse` throws and `safeParse` returns (classic zod's `ZodError`), for `instanceof`. */
export { $ZodError as ZodError } from 'zod/v4/core';

/**
 * A copy of `schema` carrying OpenAPI / JSON Schema metadata (`id`, `description`): what
 * classic zod's `.meta()` does. A copy, so that a description given where a schema is used
 * does not stick to the schema everywhere else.
 */
export function withMeta<T extends $ZodType>(schema: T, meta: GlobalMeta): T {
  const copy = clone(schema);
  globalRegistry.add(copy, meta);
  return copy;
}
