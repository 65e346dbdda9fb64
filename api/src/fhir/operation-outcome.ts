/** How FHIR clients read a refusal: an OperationOutcome, with the HTTP status mapped to an issue type. */
export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** Requests under /fhir get FHIR's error shape from the one error handler. */
export function isFhirRequest(url: string): boolean {
  return url === '/fhir' || url.startsWith('/fhir/') || url.startsWith('/fhir?');
}

const ISSUE_CODE: Readonly<Record<number, string>> = {
  400: 'invalid',
  401: 'login',
  403: 'forbidden',
  404: 'not-found',
  405: 'not-supported',
  406: 'not-supported',
  429: 'throttled',
};

/** Where the API's own error code (ERROR_CODES) is named inside an issue's details. */
export const ERROR_CODE_SYSTEM = 'urn:pacs:error-code';

export function operationOutcome(statusCode: number, message: string, errorCode?: string): Record<string, unknown> {
  return {
    resourceType: 'OperationOutcome',
    issue: [
      {
        severity: statusCode >= 500 ? 'fatal' : 'error',
        code: ISSUE_CODE[statusCode] ?? (statusCode >= 500 ? 'exception' : 'processing'),
        ...(errorCode ? { details: { coding: [{ system: ERROR_CODE_SYSTEM, code: errorCode }] } } : {}),
        diagnostics: message,
      },
    ],
  };
}
