import { type Static, Type } from 'typebox';
import { ERROR_CODE_NAMES } from '../error-codes';

export const Uuid = Type.String({ format: 'uuid', description: 'UUID' });

export const IsoDateTime = Type.String({ format: 'date-time' });

/** One of ERROR_CODES: what the API sends in an error body's `code`. */
export const ErrorCodeSchema = Type.Enum(ERROR_CODE_NAMES);

/** Every 4xx/5xx body. `message` says what was wrong; 5xx bodies never carry internals. */
export const ErrorResponse = Type.Object(
  {
    statusCode: Type.Integer(),
    error: Type.String(),
    message: Type.String(),
    code: Type.Optional(ErrorCodeSchema),
    requestId: Type.Optional(Type.String()),
  },
  { $id: 'ErrorResponse' },
);
export type ErrorResponse = Static<typeof ErrorResponse>;

export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false });
export type IdParams = Static<typeof IdParams>;

/** Opaque keyset cursor: base64url, never parsed by clients. */
export const Cursor = Type.String({ minLength: 1, maxLength: 512, pattern: '^[A-Za-z0-9_-]+$' });

export const PageLimit = Type.Integer({ minimum: 1, maximum: 500, default: 50 });
