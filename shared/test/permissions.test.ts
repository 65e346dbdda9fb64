import { describe, expect, it } from 'vitest';
import { ACTIONS, actionsFor, can, isRole, PERMISSION_MATRIX, ROLES } from '../src/permissions';

describe('permission matrix', () => {
  it('answers can() exactly from the matrix for every role and action', () => {
    for (const action of ACTIONS) {
      for (const role of ROLES) {
        expect(can(role, action), `${role} ${action}`).toBe(PERMISSION_MATRIX[action].includes(role));
      }
    }
  });

  it('lists every action and grants each to someone', () => {
    expect(Object.keys(PERMISSION_MATRIX).sort()).toEqual([...ACTIONS].sort());
    for (const action of ACTIONS) expect(PERMISSION_MATRIX[action].length, action).toBeGreaterThan(0);
  });

  it('lets only attendings finalize, return and add addenda', () => {
    for (const action of ['report:finalize', 'report:return', 'report:addendum'] as const) {
      expect(ROLES.filter((role) => can(role, action))).toEqual(['attending']);
    }
  });

  it('never lets a resident sign a final report, and only residents submit preliminaries', () => {
    expect(can('resident', 'report:finalize')).toBe(false);
    expect(ROLES.filter((role) => can(role, 'report:submit'))).toEqual(['resident']);
  });

  it('keeps admins out of images and report authoring but gives them users, audit and templates', () => {
    for (const action of ['images:read', 'report:read', 'report:edit', 'report:finalize'] as const) {
      expect(can('admin', action), action).toBe(false);
    }
    for (const action of ['user:manage', 'audit:read', 'audit:acknowledge', 'template:manage', 'system:read'] as const) {
      expect(
        ROLES.filter((role) => can(role, action)),
        action,
      ).toEqual(['admin']);
    }
  });

  it('gives technologists images, the worklist, order reconciliation, emergency access and their offline read record but no reports (checking a PDF is not reading one)', () => {
    expect(actionsFor('technologist')).toEqual([
      'session:self',
      'study:read',
      'study:prioritize',
      'study:set-status',
      'images:read',
      'report:verify',
      'audit:offline-reads',
      'order:reconcile',
      'study:break-glass',
    ]);
  });

  it('gives referrers their own results and critical results, nothing of the worklist, images or reports; they may check a PDF they hold', () => {
    expect(actionsFor('referrer')).toEqual(['session:self', 'report:verify', 'critical:acknowledge', 'critical:read', 'result:read-own']);
    expect(ROLES.filter((role) => can(role, 'result:read-own'))).toEqual(['referrer']);
  });

  it('lets only radiologists flag critical results, and keeps admins to reading the clocks', () => {
    expect(ROLES.filter((role) => can(role, 'critical:flag'))).toEqual(['attending', 'resident']);
    expect(can('admin', 'critical:read')).toBe(true);
    expect(can('admin', 'critical:acknowledge')).toBe(false);
    expect(can('technologist', 'critical:read')).toBe(false);
  });

  it('recognises roles and nothing else', () => {
    for (const role of ROLES) expect(isRole(role)).toBe(true);
    for (const value of ['Admin', 'root', '', null, 3, undefined]) expect(isRole(value)).toBe(false);
  });
});
