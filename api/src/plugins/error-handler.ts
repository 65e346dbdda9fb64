/**
 * The one error handler: 4xx answers say what was wrong; 5xx answers say nothing about internals
 * (the log has the error, keyed by request id). Under /fhir the same answer is an OperationOutcome.
 */
import { type ErrorCode, type ErrorResponse, isErrorCode } from '@pacs/shared';
import type { FastifyError } from 'fastify';
import fp from 'fastify-plugin';
import { FHIR_JSON, isFhirRequest, operationOutcome } from '../fhir/operation-outcome';
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
      let code: ErrorCode | undefined;
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
        // Fastify's own refusals (body parsing) carry its codes; ERROR_CODES lists the ones that occur.
        if (isErrorCode(error.code)) code = error.code;
        else if (error.code !== undefined) {
          request.log.warn({ statusCode, frameworkCode: error.code }, 'error code not in ERROR_CODES: answered without it');
        }
      }
      request.failureReason = statusCode >= 500 ? 'internal error' : message;
      if (statusCode >= 500) {
        request.log.error({ err: error }, 'request failed');
      } else {
        request.log.info({ statusCode, code }, 'request refused');
      }
      if (isFhirRequest(request.url)) {
        reply
          .code(statusCode)
          .type(FHIR_JSON)
          .send(operationOutcome(statusCode, message, code));
        return;
      }
      const answer: ErrorResponse = {
        statusCode,
        error: STATUS_TEXT[statusCode] ?? 'Error',
        message,
        ...(code ? { code } : {}),
        requestId: request.id,
      };
      reply.code(statusCode).send({ ...answer, ...body });
    });

    app.setNotFoundHandler((request, reply) => {
      if (isFhirRequest(request.url)) {
        reply
          .code(404)
          .type(FHIR_JSON)
          .send(operationOutcome(404, `no FHIR interaction ${request.method} ${request.url.split('?')[0]}`));
        return;
      }
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
