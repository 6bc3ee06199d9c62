import { closest, distance } from 'fastest-levenshtein';
import { z } from 'zod';

/** The fields an object schema at `path` (inside `root`) knows, or none where the path leads elsewhere. */
export function knownFieldsAt(root: z.ZodType, path: readonly PropertyKey[]): string[] {
  let schema: z.ZodType | undefined = root;
  for (const key of [...path, undefined]) {
    schema = unwrap(schema);
    if (key === undefined) break;
    if (schema instanceof z.ZodObject)
      schema = (schema.shape as Record<string, z.ZodType>)[String(key)]; // trusted key: a path zod walked in this schema
    else if (schema instanceof z.ZodArray && typeof key === 'number') schema = schema.element as z.ZodType;
    else return [];
  }
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

/** Through defaults, optionals and transforms to the schema that takes the input. */
function unwrap(schema: z.ZodType | undefined): z.ZodType | undefined {
  let current = schema;
  for (;;) {
    if (current instanceof z.ZodDefault || current instanceof z.ZodOptional)
      current = current.unwrap() as z.ZodType;
    else if (current instanceof z.ZodPipe) current = current.in as z.ZodType;
    else return current;
  }
}

/** " (did you mean `security`?)" for a near miss of a known field, else "". */
export function didYouMean(unknown: string, known: readonly string[]): string {
  if (known.length === 0) return '';
  const nearest = closest(unknown, [...known]);
  return distance(unknown.toLowerCase(), nearest.toLowerCase()) <= Math.max(2, Math.floor(unknown.length / 3))
    ? ` (did you mean \`${nearest}\`?)`
    : '';
}
