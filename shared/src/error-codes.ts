/**
 * Every `code` an API error body can carry, with when it is sent. The API's HttpError takes only
 * these, and ErrorResponse.code is typed with them, so a client matches a code the API really
 * sends or does not compile. The HTTP status comes first in each `when`; the status is what a
 * client checks for the kind of failure, the code for which one.
 */
export const ERROR_CODES = [
  // Request shape
  { code: 'VALIDATION_FAILED', when: '400: body, query or path parameters do not match the route schema' },
  { code: 'NUL_CHARACTER', when: '400: a NUL character in any text of the request' },
  { code: 'BAD_CURSOR', when: '400: a page cursor the server did not hand out' },
  { code: 'BAD_DATE', when: '400: worklist dateFrom or dateTo is not a date' },
  { code: 'BAD_IF_MATCH', when: '400: an If-Match header without a version' },
  { code: 'NOT_FOUND', when: '404: the study, report, user or template named in the path does not exist' },
  { code: 'NO_REPORT_YET', when: '404: the study exists but no report has been started on it' },

  // Framework refusals Fastify sends with its own codes, before a handler runs
  { code: 'FST_ERR_CTP_INVALID_JSON_BODY', when: '400: content-type is JSON but the body is not valid JSON' },
  { code: 'FST_ERR_CTP_EMPTY_JSON_BODY', when: '400: content-type is JSON but the body is empty' },
  { code: 'FST_ERR_CTP_INVALID_CONTENT_LENGTH', when: '400: the body size differs from Content-Length' },
  { code: 'FST_ERR_CTP_BODY_TOO_LARGE', when: '413: the body exceeds the body limit' },
  { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', when: '415: a content-type the route does not parse' },
  { code: 'FST_ERR_BAD_URL', when: '400: malformed percent-encoding in the path' },
  { code: 'FST_ERR_MAX_PARAM_LENGTH', when: '414: a path parameter longer than the router accepts' },

  // Signing in and access tokens
  { code: 'INVALID_CREDENTIALS', when: '401: login with an unknown e-mail or a wrong password' },
  { code: 'ACCOUNT_INACTIVE', when: '401: the account is deactivated (login, refresh or any authenticated call)' },
  { code: 'LOGIN_THROTTLED', when: '429: too many failed logins for this e-mail or address; Retry-After says how long' },
  { code: 'TOKEN_MISSING', when: '401: no bearer access token' },
  { code: 'TOKEN_EXPIRED', when: '401: the access token expired; refresh it' },
  { code: 'TOKEN_INVALID', when: '401: the access token is forged, malformed or carries unknown claims' },
  { code: 'SESSION_ENDED', when: '401: the session behind the access token was revoked (logout, refresh-token reuse)' },
  { code: 'ROLE_CHANGED', when: "401: the account's role changed since the token was issued; refresh" },
  { code: 'PASSWORD_CHANGED', when: '401: the password changed since the token was issued; log in again' },
  { code: 'TOO_MANY_REFUSALS', when: '429: too many unauthenticated requests from this address; Retry-After says how long' },
  { code: 'REFRESH_MISSING', when: '401: refresh without the refresh cookie' },
  { code: 'REFRESH_UNKNOWN', when: '401: a refresh token the server never issued' },
  { code: 'REFRESH_REUSED', when: '401: a rotated refresh token presented again; its whole session is revoked' },
  { code: 'REFRESH_EXPIRED', when: '401: the refresh token expired' },
  { code: 'REFRESH_REVOKED', when: '401: the refresh token was revoked (logout, password change or reset, deactivation)' },
  { code: 'REFRESH_INACTIVE', when: "401: the refresh token's account is deactivated" },
  { code: 'SSO_SESSION_ENDED', when: '401: the hospital sign-in refused to renew the session (account disabled or signed out there)' },
  { code: 'LOCAL_LOGIN_DISABLED', when: '403: e-mail and password sign-in is turned off here; use the hospital sign-in' },
  { code: 'SSO_NOT_CONFIGURED', when: '404: single sign-on is not set up on this installation' },
  { code: 'SSO_MAPPING_INVALID', when: '400: a group → role mapping names a group twice' },

  // Devices
  {
    code: 'DEVICE_REVOKED',
    when: '401: refresh or sign-in from a device an admin or its user revoked; the device wipes its offline data and reports it',
  },
  { code: 'DEVICE_REFUSED', when: '401: a wipe report with an unknown device id or a wrong device secret' },
  { code: 'DEVICE_NOT_REVOKED', when: '409: a wipe report from a device that was never revoked' },
  { code: 'NO_DEVICE', when: '409: reporting holdings from a session that signed in without a device identity' },

  // Second factor (TOTP)
  {
    code: 'MFA_CHALLENGE_INVALID',
    when: '401: the second-factor step is forged, expired, or its password has changed since; log in again',
  },
  { code: 'MFA_CODE_INVALID', when: '401: a wrong, expired or already used authenticator code, or an unknown or used recovery code' },
  { code: 'MFA_THROTTLED', when: '429: too many wrong codes for this account; Retry-After says how long' },
  { code: 'MFA_ALREADY_ENABLED', when: '409: enrolling a second factor while one is in force (an admin resets it first)' },
  { code: 'MFA_NOT_ENROLLING', when: '409: confirming an enrolment that was not started' },
  { code: 'MFA_REQUIRED', when: '409: turning off the second factor of a role that must use one' },

  // Passwords
  { code: 'WRONG_PASSWORD', when: '400: password change with a wrong current password' },
  { code: 'WEAK_PASSWORD', when: '400: a new password shorter than the minimum length' },
  { code: 'PASSWORD_TOO_LONG', when: '400: a new password longer than bcrypt can hash' },
  { code: 'COMMON_PASSWORD', when: '400: a new password that is common or easy to guess' },
  { code: 'PASSWORD_MATCHES_ACCOUNT', when: "400: a new password containing the account's e-mail or name" },

  // Users
  { code: 'EMAIL_TAKEN', when: '409: a user with this e-mail exists' },
  { code: 'SELF_LOCKOUT', when: '409: an admin removing their own admin access' },
  { code: 'LAST_ADMIN', when: '409: removing the last active admin' },

  // Permissions and the worklist
  { code: 'PERMISSION_DENIED', when: '403: the role may not do this (route access, or a worklist field it may not change)' },
  { code: 'STALE_VERSION', when: '409: the study, report or template changed since the client loaded it' },
  { code: 'ASSIGNMENT_FORBIDDEN', when: '403: an assignment the user may not make (a resident assigning others or taking a taken study)' },
  { code: 'BAD_ASSIGNEE', when: '400: the assignee is not an active attending or resident' },
  { code: 'TRANSITION_FORBIDDEN', when: '403: a study or report status change the role may not make' },
  { code: 'NOT_UNMATCHED', when: '409: reconciling a study that is not waiting for reconciliation' },
  { code: 'ORDER_NOT_PENDING', when: '409: attaching a study to an order that is cancelled or already has its images' },
  { code: 'PATIENT_MISMATCH', when: "409: attaching a study to another patient's order (correct the images' patient first)" },
  { code: 'NO_IMAGES_YET', when: '409: a report started on a scheduled study, whose images have not arrived' },
  { code: 'TRANSITION_NOT_ALLOWED', when: '409: a status change not allowed from the current status, or an addendum where none fits' },
  {
    code: 'FEED_RESET',
    when: "409: a device's change feed position belongs to another database (restored from a backup): its epoch differs or its cursor is ahead; the body carries the current epoch; start again from cursor 0",
  },
  { code: 'FOLLOW_LIMIT', when: '409: following more studies than a device holds for follows; unfollow some first' },

  // Restricted patients and emergency access
  {
    code: 'RESTRICTED_STUDY',
    when: '403: the study (or its patient) is restricted and the user has no open emergency access window and is not assigned to it',
  },
  {
    code: 'BAD_BREAK_GLASS_REASON',
    when: '400: an emergency access reason that is empty, too short, too long or holds control characters',
  },
  { code: 'NOT_RESTRICTED', when: '409: breaking the glass on a study that is not restricted' },
  { code: 'ACCESS_WINDOW_CLOSED', when: '409: closing an emergency access window that is already closed or expired' },
  { code: 'ALREADY_REVIEWED', when: '409: signing off an emergency access that was already reviewed' },
  { code: 'CONFIRM_LIFT', when: '409: lifting a restriction that came from an order or DICOM without confirming it (liftExternal)' },

  // Reports
  { code: 'NOT_ASSIGNED', when: "403: the report is neither the user's nor on a study assigned to them" },
  { code: 'FINALIZE_IN_PROGRESS', when: '409: another finalize of this report is under way' },
  { code: 'UNSEEN_UPDATES', when: '409: finalize refused: the document holds edits the signer has not seen (body carries stateVector)' },
  { code: 'BAD_STATE', when: '400: finalize with a stateVector or snapshot that is not a valid Yjs encoding' },
  {
    code: 'REQUIRED_FIELDS_EMPTY',
    when: '409: submit or finalize refused: required fill-in fields of the report are empty (body carries fields: [{ id, label }])',
  },
  { code: 'TRIGGER_TAKEN', when: '409: another of your macros already has this trigger' },
  { code: 'MACRO_DELETED', when: '409: editing a macro that was deleted (on another device)' },
  { code: 'MRRT_REFUSED', when: '400: an MRRT import that is not strictly valid MRRT or carries active content; the message says why' },
  {
    code: 'REPORT_EXISTS',
    when: '409: a report started offline on a study that meanwhile got another report (body carries reportId); merge into that one',
  },
  { code: 'REPORT_ID_TAKEN', when: "409: a report started offline under an id that is another study's report or an addendum" },
  { code: 'BAD_TEMPLATE', when: '400: a report started from an unknown or retired template (offline: or one not made for the study)' },
  { code: 'NOT_YOUR_TEACHING_FILE', when: "403: a resident asked for another resident's teaching file" },
  { code: 'NOT_SIGNED', when: '409: verification of a report that is not signed yet' },
  { code: 'BAD_PDF', when: '400: PDF verification without a PDF in the body' },
  { code: 'SYNC_NOT_CONFIGURED', when: '503: reporting needs PACS_SYNC_SERVICE_TOKEN, which is not set' },
  { code: 'SYNC_UNAVAILABLE', when: '503: the sync-server (document service) failed or is unreachable; try again' },

  // Critical results
  { code: 'CRITICAL_CLOSED', when: '409: acknowledging or withdrawing a critical result that is already acknowledged or withdrawn' },
  { code: 'MEASUREMENT_NOT_YOURS', when: '403: changing or deleting a measurement someone else drew (theirs are read-only)' },
  { code: 'MEASUREMENT_ID_REUSED', when: '409: a measurement or key image id already names one on another study or of another user' },
  { code: 'BAD_MEASUREMENT', when: '400: points that do not fit the tool, or values a tool does not measure' },
  { code: 'IMAGE_NOT_IN_STUDY', when: '400: a series or instance that is not part of the study' },
  { code: 'NOTHING_TO_EXPORT', when: '409: exporting measurements or key images of a study that has none the archive knows' },
  { code: 'REPORT_FINAL', when: '409: inserting into a signed report; write an addendum instead' },
  { code: 'CRITICAL_ID_REUSED', when: "409: a flag's clientId already names a critical result on another report" },
  { code: 'NOT_RECIPIENT', when: '403: a referrer acknowledging or reading a critical result that is not for their orders' },
  {
    code: 'ACK_NEEDS_RECEIVER',
    when: '400: a radiologist recording an acknowledgement must name who received it (and, by phone, that it was read back); a referrer acknowledges in the app',
  },

  // Ingestion
  { code: 'WEBHOOK_REFUSED', when: '401: an Orthanc webhook whose signature is missing, wrong, too old or replayed' },
  { code: 'BAD_WEBHOOK', when: '400: a webhook body that is not JSON or not a webhook event' },
  { code: 'ORTHANC_NOT_CONFIGURED', when: '400 (webhook) or 503 (DICOMweb): this API has no Orthanc configured' },

  // Offline reads uploaded by devices
  {
    code: 'OFFLINE_AUDIT_DEVICE_REFUSED',
    when: "403: the upload names a device that is not the caller's own registered, unrevoked device, or not the one this session signed in from",
  },
  {
    code: 'OFFLINE_AUDIT_BAD_ENTRY',
    when: '400: an entry whose time is not a real date, or whose event lacks the study, report or series it needs',
  },
  {
    code: 'OFFLINE_AUDIT_TIME_REFUSED',
    when: '400: an entry timed more than 5 minutes ahead of the server, or older than PACS_OFFLINE_AUDIT_MAX_AGE_DAYS',
  },
  {
    code: 'AUDIT_CHAIN_BROKEN',
    when: "409: the entries do not continue the device's chain (gap, changed, reordered or inserted entry), or an earlier break awaits an admin",
  },
  { code: 'AUDIT_CHAIN_STALE', when: '409: every entry is older than the last one the server accepted; upload from the one after it' },
  { code: 'NO_CHAIN_ALARM', when: '409: acknowledging a device whose offline read chain has no alarm' },

  // DICOMweb proxy
  { code: 'ORTHANC_UNREACHABLE', when: '502: the image archive did not answer' },
  { code: 'ORTHANC_FAILED', when: '502: the image archive answered with an error of its own' },
  {
    code: 'DICOMWEB_ARCHIVE_REFUSED',
    when: "400/404/416: the image archive refused the request (e.g. a frame past the instance's last); its status and short reason passed on",
  },
  { code: 'DICOMWEB_NO_PIXEL_DATA', when: '404: frames or a rendering asked of an instance without pixel data (a document or report)' },
  { code: 'DICOMWEB_ROUTE_UNKNOWN', when: '404: not a DICOMweb route' },
  { code: 'DICOMWEB_BAD_ENCODING', when: '400: malformed percent-encoding in the DICOMweb path or query' },
  { code: 'DICOMWEB_BAD_UID', when: '400: a path segment that is not a DICOM UID' },
  { code: 'DICOMWEB_BAD_FRAME_LIST', when: '400: a frame list that is not comma-separated frame numbers from 1' },
  { code: 'DICOMWEB_BAD_BULK_PATH', when: '400: a bulk data path that is not tags and item numbers' },
  { code: 'DICOMWEB_BAD_PARAMETER', when: '400: a query parameter with a bad name or value, or too many of them' },
  { code: 'DICOMWEB_PATH_TOO_LONG', when: '414: DICOMweb path too long' },
  { code: 'DICOMWEB_QUERY_TOO_LONG', when: '414: DICOMweb query string too long' },
  { code: 'DICOMWEB_JSON_ONLY', when: '406: a search answer that is not DICOM JSON (it could not be checked for restricted patients)' },
  { code: 'DICOMWEB_SEARCH_TOO_LARGE', when: '422: a search answer too large to relay; narrow it or pass limit' },
  { code: 'DICOMWEB_TRANSCODING_UNAVAILABLE', when: '406: the Accept header asks for a transfer syntax the archive cannot transcode to' },
] as const satisfies readonly { code: string; when: string }[];

export type ErrorCode = (typeof ERROR_CODES)[number]['code'];

export const ERROR_CODE_NAMES: readonly ErrorCode[] = ERROR_CODES.map((entry) => entry.code);

const KNOWN = new Set<string>(ERROR_CODE_NAMES);

/** For codes that come from elsewhere (a framework error): only a listed one goes into an answer. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && KNOWN.has(value);
}
