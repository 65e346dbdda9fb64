import type { ErrorCode } from '@pacs/shared';

/**
 * Errors a handler throws on purpose; the one error handler turns them into JSON responses. The
 * code is one of the shared ERROR_CODES, so every refusal names a reason clients can match.
 */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly code: ErrorCode,
    readonly headers: Record<string, string> = {},
    /** Fields the answer carries after the standard ones, e.g. what a 409 conflicts with. */
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (message: string, code: ErrorCode) => new HttpError(400, message, code);
export const unauthorized = (message: string, code: ErrorCode) => new HttpError(401, message, code);
export const forbidden = (message: string, code: ErrorCode) => new HttpError(403, message, code);
export const notFound = (message: string, code: ErrorCode = 'NOT_FOUND') => new HttpError(404, message, code);
export const conflict = (message: string, code: ErrorCode, body: Record<string, unknown> = {}) =>
  new HttpError(409, message, code, {}, body);
