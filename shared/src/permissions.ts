/**
 * Roles and the ONE permission matrix. The API guards every route with `can()`, the sync-server
 * derives document access from it, and the web app hides what a role cannot do.
 */
/**
 * `referrer`: an ordering physician outside radiology, linked to the hospital's provider id; sees
 * only the final reports and critical results of their own orders, nothing of the worklist.
 */
export const ROLES = ['admin', 'attending', 'resident', 'technologist', 'referrer'] as const;
export type Role = (typeof ROLES)[number];

export const ACTIONS = [
  /** The signed-in user's own session: profile, password change, logout. */
  'session:self',
  /** Worklist rows and study details (PHI). */
  'study:read',
  'study:assign',
  'study:prioritize',
  'study:set-status',
  /** Pixel data and DICOM metadata through /dicom-web. */
  'images:read',
  'report:read',
  'report:edit',
  'report:submit',
  'report:finalize',
  'report:return',
  'report:addendum',
  'report:export',
  /** The teaching file: residents' signed reports with the size of the attending's changes (residents: their own). */
  'teaching:read',
  /** Ask whether a report PDF one holds is exactly what this system sealed (reveals nothing the PDF does not). */
  'report:verify',
  'template:read',
  'template:manage',
  /** The user's own macros and snippets: list, create, edit, delete (never anyone else's). */
  'macro:own',
  'user:manage',
  /** Everyone's sessions and devices: list them, revoke a session, revoke a device (which then wipes itself). */
  'session:manage',
  'audit:read',
  /** Upload the record of patient data one viewed offline on one's own device. */
  'audit:offline-reads',
  /** Acknowledge an offline read chain that failed its check, so the device may upload again. */
  'audit:acknowledge',
  'system:read',
  /** The hospital interfaces: the results outbox, resending what could not be delivered. */
  'interface:manage',
  /** Studies whose images came without an order: attach them to their order, or confirm them unordered. */
  'order:reconcile',
  /** Raise a critical result on a report (the clock starts at the server), or withdraw one raised in error. */
  'critical:flag',
  /** Acknowledge a critical result: the recipient in the app, or a radiologist recording a call. */
  'critical:acknowledge',
  /** Critical results and their clocks: all of them, or for a referrer, their own orders'. */
  'critical:read',
  /** A referrer's own orders' final reports. */
  'result:read-own',
  /** Open a restricted patient's data for a limited time by stating a reason (emergency access). */
  'study:break-glass',
  /** Restrict a study or a patient, or lift a restriction (also one that came from an order or DICOM). */
  'restriction:manage',
  /** The privacy officer's review of emergency accesses: the list and the sign-off. */
  'privacy:review',
  /** Everyone's measurements and the key images of a study (read-only for those not theirs). */
  'measurement:read',
  /** Draw, change and delete one's own measurements; flag and unflag key images. */
  'measurement:edit',
] as const;
export type Action = (typeof ACTIONS)[number];

const CLINICAL: readonly Role[] = ['attending', 'resident'];

/**
 * Deny by default: an action not listed for a role is refused. Admins run the system (users,
 * templates, audit, health) but neither read images nor author reports.
 */
export const PERMISSION_MATRIX: Readonly<Record<Action, readonly Role[]>> = {
  'session:self': ROLES,
  'study:read': ['admin', 'attending', 'resident', 'technologist'],
  'study:assign': ['admin', ...CLINICAL],
  'study:prioritize': ['admin', 'attending', 'technologist'],
  'study:set-status': ['attending', 'resident', 'technologist'],
  'images:read': ['attending', 'resident', 'technologist'],
  'report:read': CLINICAL,
  'report:edit': CLINICAL,
  'report:submit': ['resident'],
  'report:finalize': ['attending'],
  'report:return': ['attending'],
  'report:addendum': ['attending'],
  'report:export': CLINICAL,
  'report:verify': ROLES,
  'teaching:read': CLINICAL,
  'template:read': ['admin', ...CLINICAL],
  'template:manage': ['admin'],
  'macro:own': CLINICAL,
  'user:manage': ['admin'],
  'session:manage': ['admin'],
  'audit:read': ['admin'],
  // Those whose app keeps the worklist, studies or reports offline.
  'audit:offline-reads': ['admin', 'attending', 'resident', 'technologist'],
  'audit:acknowledge': ['admin'],
  'system:read': ['admin'],
  'interface:manage': ['admin'],
  'order:reconcile': ['admin', 'technologist'],
  'critical:flag': CLINICAL,
  'critical:acknowledge': [...CLINICAL, 'referrer'],
  'critical:read': ['admin', ...CLINICAL, 'referrer'],
  'result:read-own': ['referrer'],
  // Everyone who reads the worklist may open a restricted row; the window opens only what the role already may.
  'study:break-glass': ['admin', 'attending', 'resident', 'technologist'],
  'restriction:manage': ['admin'],
  'privacy:review': ['admin'],
  // Measurements feed the report: those who read and write reports.
  'measurement:read': CLINICAL,
  'measurement:edit': CLINICAL,
};

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function can(role: Role, action: Action): boolean {
  return PERMISSION_MATRIX[action].includes(role);
}

export function actionsFor(role: Role): Action[] {
  return ACTIONS.filter((action) => can(role, action));
}
