import type { z } from 'zod';
import { ValidationError, type FieldError } from '../errors/http-errors.ts';

/** zod issues as field errors, paths dotted (`versions.v2.url`) under an optional prefix. */
export function fieldErrors(error: z.ZodError, prefix?: string): FieldError[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    const full = [prefix, path].filter((part) => part !== undefined && part !== '').join('.');
    return { path: full === '' ? (prefix ?? '') : full, message: issue.message };
  });
}

/** Parses `value` with `schema`, throwing a 400 `ValidationError` that names every field. */
export function parseOrThrow<Schema extends z.ZodType>(
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
