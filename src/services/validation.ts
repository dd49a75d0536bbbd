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
