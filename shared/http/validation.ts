import type * as z from '../zod.ts';
import { ValidationError, type FieldError } from '../errors/http-errors.ts';

/** zod issues as field errors, paths dotted (`versions.v2.url`) under an optional prefix. */
function fieldErrors(error: z.ZodError, prefix?: string): FieldError[] {
  const dotted = (...parts: (string | undefined)[]): string =>
    parts.filter((part) => part !== undefined && part !== '').join('.');
  return error.issues.flatMap((issue) => {
    const path = dotted(prefix, issue.path.map(String).join('.'));
    // An unknown field is named in its own path, one error per field.
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: dotted(path, key), message: 'unknown field' }));
    }
    return [{ path, message: issue.message }];
  });
}

/** Parses `value` with `schema`, throwing a 400 `ValidationError` that names every field. */
export function parseOrThrow<Schema extends z.ZodMiniType>(
  schema: Schema,
  value: unknown,
  what: string,
  prefix?: string,
): z.infer<Schema> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new ValidationError(`Invalid ${what}.`, fieldErrors(result.error, prefix));
  }
  return result.data;
}
