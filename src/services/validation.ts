import { z } from 'zod';
import { badInput, type FieldError } from '../errors';

/** Parses input with a zod schema; failures become BAD_USER_INPUT with one entry per field. */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown, what = 'input'): T {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const fields: FieldError[] = r.error.issues.map((i) => ({
    path: i.path.map(String).join('.') || what,
    message: i.message,
  }));
  throw badInput(`Invalid ${what}: ${fields.map((f) => `${f.path}: ${f.message}`).join('; ')}`, fields);
}

export const id = z.string().uuid('must be a valid id');
export const variantSchema = z.object({
  size: z.string().trim().min(1).max(20),
  color: z.string().trim().min(1).max(40),
});
export const quantity = z.number().int('must be a whole number').min(1).max(99);

/**
 * Text no column can hold: NUL (PostgreSQL refuses it in text) and UTF-16 surrogates without their
 * pair (they have no UTF-8 form). The one rule for every string a client sends, on every transport.
 */
const INVALID_TEXT = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
export const isValidText = (s: string): boolean => !INVALID_TEXT.test(s);
export const INVALID_TEXT_MESSAGE = 'must not contain NUL characters or unpaired surrogates';

/** The path of the first string (value or object key) in `value` that is not valid text, if any. */
export function findInvalidText(value: unknown): string | undefined {
  // Iterative: a payload may nest deeper than the call stack allows.
  const stack: Array<[unknown, string]> = [[value, '']];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (!isValidText(v)) return path;
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], path ? `${path}.${i}` : String(i)]);
    } else if (v !== null && typeof v === 'object') {
      for (const key of Object.keys(v)) {
        // The path names the key without repeating the text that was refused.
        const valid = isValidText(key);
        const name = valid ? key.slice(0, 64) : '(key)';
        const p = path ? `${path}.${name}` : name;
        if (!valid) return p;
        stack.push([(v as Record<string, unknown>)[key], p]);
      }
    }
  }
  return undefined;
}

/** BAD_USER_INPUT naming the first invalid string in `value` (under the name `what`), or null. */
export function invalidTextError(value: unknown, what: string) {
  const at = findInvalidText(value);
  if (at === undefined) return null;
  const path = at ? `${what}.${at}` : what;
  return badInput(`Invalid ${path}: ${INVALID_TEXT_MESSAGE}`, [{ path, message: INVALID_TEXT_MESSAGE }]);
}
