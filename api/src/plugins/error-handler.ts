/**
 * The one error handler: 4xx answers say what was wrong; 5xx answers say nothing about internals
 * (the log has the error, keyed by request id).
 */
import type { FastifyError } from 'fastify';
import fp from 'fastify-plugin';
import { HttpError } from '../http-errors';

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  423: 'Locked',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export default fp(
  async (app) => {
    app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
      let statusCode = 500;
      let message = 'Internal Server Error';
      let code: string | undefined;
      let body: Record<string, unknown> = {};
      if (error instanceof HttpError) {
        statusCode = error.statusCode;
        message = error.message;
        code = error.code;
        body = error.body;
        for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
      } else if ('validation' in error && error.validation) {
        statusCode = 400;
        message = error.message;
        code = 'VALIDATION_FAILED';
      } else if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
        statusCode = error.statusCode;
        message = error.message;
        code = error.code;
      }
      request.failureReason = statusCode >= 500 ? 'internal error' : message;
      if (statusCode >= 500) {
        request.log.error({ err: error }, 'request failed');
      } else {
        request.log.info({ statusCode, code }, 'request refused');
      }
      reply.code(statusCode).send({
        statusCode,
        error: STATUS_TEXT[statusCode] ?? 'Error',
        message,
        ...(code ? { code } : {}),
        requestId: request.id,
        ...body,
      });
    });

    app.setNotFoundHandler((request, reply) => {
      reply.code(404).send({
        statusCode: 404,
        error: 'Not Found',
        message: `no route ${request.method} ${request.url.split('?')[0]}`,
        requestId: request.id,
      });
    });
  },
  { name: 'error-handler' },
);
