/**
 * Request validation from the TypeBox schemas. Bodies are validated strictly (a number is not a
 * string, unknown fields are an error); query strings, params and headers arrive as text, so
 * those are coerced to the schema's types.
 */
import { Ajv, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifyRequest, FastifySchemaCompiler } from 'fastify';
import { badRequest } from './http-errors';

// ajv-formats ships CommonJS with a default export the ESM interop wraps once more.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (
  ajv: Ajv,
) => Ajv;

function makeAjv(options: Options): Ajv {
  const ajv = new Ajv({ removeAdditional: false, useDefaults: true, allErrors: false, strict: false, ...options });
  addFormats(ajv);
  return ajv;
}

const strict = makeAjv({ coerceTypes: false });
const coercing = makeAjv({ coerceTypes: 'array' });

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? strict : coercing).compile(schema) as ReturnType<FastifySchemaCompiler<object>>;

/**
 * Where the first NUL character sits in parsed input (a string or a property name), as a dotted
 * path; null if there is none. NUL is never valid text here: PostgreSQL refuses it in text
 * columns and C libraries cut strings at it, so it is refused once, for every route.
 */
export function findNulCharacter(value: unknown, path: string, depth = 0): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path : null;
  if (value === null || typeof value !== 'object' || depth > 64) return null;
  if (Buffer.isBuffer(value)) return null;
  for (const [key, item] of Object.entries(value)) {
    if (key.includes('\u0000')) return path;
    const found = findNulCharacter(item, `${path}.${key}`, depth + 1);
    if (found) return found;
  }
  return null;
}

/** A preValidation hook: 400 NUL_CHARACTER naming the field, before any schema or handler sees it. */
export async function rejectNulCharacters(request: FastifyRequest): Promise<void> {
  const where =
    findNulCharacter(request.params, 'params') ?? findNulCharacter(request.query, 'query') ?? findNulCharacter(request.body, 'body');
  if (where) throw badRequest(`NUL characters are not allowed in text (${where})`, 'NUL_CHARACTER');
}
