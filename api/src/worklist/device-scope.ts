/**
 * Which studies a user's devices hold and why (the rules are data in shared/src/device-scope.ts).
 * Every read goes through an index: assignments (studies_worklist_assignee), follows and opens (by
 * user), the arrival window (studies_status_received) and the anchors' patients
 * (studies_patient_received); never a pass over all studies.
 */
import {
  type AnchorReason,
  DEVICE_SCOPES,
  type PriorCandidate,
  priorsOf,
  type Role,
  recentStart,
  SCOPE_REASONS,
  type ScopeReason,
  windowStart,
} from '@pacs/shared';
import { Op, type WhereOptions } from 'sequelize';
import type { Models, StudyAttributes } from '../db/models';
import type { AccessPolicy } from '../restricted-access/policy';
import { decodeModalities } from './present';

export interface ScopeUser {
  id: string;
  role: Role;
  /** As stored: "|CT|MR|", '' for none, null for all. */
  modalities: string | null;
}

export interface ScopeEntry {
  reasons: ScopeReason[];
  /** The anchors (rows held for themselves) this row is a prior of. */
  priorOf: string[];
  /** The user's last opening, when recent enough to count. */
  openedAt: Date | null;
}

/** Study id → why it is on the user's devices; a study not in the map is not. */
export type DeviceScopeMap = Map<string, ScopeEntry>;

type ScopeFacts = Pick<StudyAttributes, 'id' | 'patientRef' | 'restricted' | 'assigneeId' | 'receivedAt'>;
const FACTS: (keyof ScopeFacts)[] = ['id', 'patientRef', 'restricted', 'assigneeId', 'receivedAt'];

/** Keeps IN lists well under every dialect's parameter limit (SQL Server: 2100). */
const CHUNK = 1000;
export async function inChunks<T>(values: readonly string[], read: (chunk: string[]) => Promise<T[]>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < values.length; i += CHUNK) out.push(...(await read(values.slice(i, i + CHUNK))));
  return out;
}

export class DeviceScopeReader {
  constructor(
    private readonly models: Models,
    private readonly policy: AccessPolicy,
  ) {}

  private studiesById(ids: readonly string[]): Promise<ScopeFacts[]> {
    return inChunks(ids, (chunk) =>
      this.models.Study.findAll({ where: { id: { [Op.in]: chunk } }, attributes: FACTS, raw: true }),
    ) as Promise<ScopeFacts[]>;
  }

  /** The studies held for themselves (not as priors), with their reasons. */
  private async anchors(user: ScopeUser, now: number) {
    const { Study, StudyFollow, StudyOpen } = this.models;
    const scope = DEVICE_SCOPES[user.role];
    const anchors = new Map<string, { facts: ScopeFacts; reasons: Set<AnchorReason> }>();
    const add = (rows: readonly ScopeFacts[], reason: AnchorReason) => {
      for (const facts of rows) {
        const anchor = anchors.get(facts.id) ?? { facts, reasons: new Set<AnchorReason>() };
        anchor.reasons.add(reason);
        anchors.set(facts.id, anchor);
      }
    };
    if (scope.assigned.length > 0) {
      const where = { assigneeId: user.id, status: { [Op.in]: [...scope.assigned] } };
      add((await Study.findAll({ where, attributes: FACTS, raw: true })) as ScopeFacts[], 'assigned');
    }
    if (scope.followed) {
      const follows = await StudyFollow.findAll({ where: { userId: user.id }, attributes: ['studyRef'], raw: true });
      add(await this.studiesById(follows.map((f) => f.studyRef)), 'followed');
    }
    const opened = new Map<string, Date>();
    const recentFrom = recentStart(scope, now);
    if (recentFrom) {
      const opens = await StudyOpen.findAll({
        where: { userId: user.id, openedAt: { [Op.gte]: recentFrom } },
        attributes: ['studyRef', 'openedAt'],
        raw: true,
      });
      for (const open of opens) opened.set(open.studyRef, new Date(open.openedAt));
      add(await this.studiesById([...opened.keys()]), 'recent');
    }
    const windowFrom = windowStart(scope, now);
    const modalities = user.modalities === null ? null : decodeModalities(user.modalities);
    if (scope.window && windowFrom && (modalities === null || modalities.length > 0)) {
      const where: WhereOptions<StudyAttributes>[] = [
        { status: { [Op.in]: [...scope.window.statuses] } },
        { receivedAt: { [Op.gte]: windowFrom } },
      ];
      if (modalities) where.push({ [Op.or]: modalities.map((m) => ({ modalities: { [Op.like]: `%|${m}|%` } })) });
      add((await Study.findAll({ where: { [Op.and]: where }, attributes: FACTS, raw: true })) as ScopeFacts[], 'window');
    }
    return { anchors, opened };
  }

  /**
   * The user's scope now. Priors come only with anchors the user sees unmasked, and only priors
   * they see unmasked: a prior links its anchor to a patient, which a masked row must not do.
   */
  async scopeOf(user: ScopeUser, now = Date.now()): Promise<DeviceScopeMap> {
    const scope = DEVICE_SCOPES[user.role];
    const { anchors, opened } = await this.anchors(user, now);
    const result: DeviceScopeMap = new Map();
    for (const [id, anchor] of anchors)
      result.set(id, {
        reasons: SCOPE_REASONS.filter((r) => anchor.reasons.has(r as AnchorReason)),
        priorOf: [],
        openedAt: opened.get(id) ?? null,
      });
    if (scope.priorsPerStudy === 0 || anchors.size === 0) return result;

    const anchorFacts = [...anchors.values()].map((a) => a.facts);
    const anchorAccess = await this.policy.decide(user.id, anchorFacts);
    const openAnchors = anchorFacts.filter((f) => anchorAccess.get(f.id)?.access === 'open');
    const patients = [...new Set(openAnchors.map((f) => f.patientRef))];
    const candidates = (await inChunks(patients, (chunk) =>
      this.models.Study.findAll({ where: { patientRef: { [Op.in]: chunk } }, attributes: FACTS, raw: true }),
    )) as ScopeFacts[];
    const asCandidate = (f: ScopeFacts): PriorCandidate => ({ id: f.id, patient: f.patientRef, receivedAt: f.receivedAt });
    const priors = priorsOf(openAnchors.map(asCandidate), candidates.map(asCandidate), scope.priorsPerStudy);
    const priorFacts = candidates.filter((c) => priors.has(c.id));
    const priorAccess = await this.policy.decide(user.id, priorFacts);
    for (const facts of priorFacts) {
      if (priorAccess.get(facts.id)?.access !== 'open') continue;
      const entry = result.get(facts.id) ?? { reasons: [], priorOf: [], openedAt: opened.get(facts.id) ?? null };
      entry.reasons = [...entry.reasons, 'prior'];
      entry.priorOf = priors.get(facts.id)!;
      result.set(facts.id, entry);
    }
    return result;
  }
}

/** Anchor id → the ids of its priors in this scope. */
export function priorsByAnchor(scope: DeviceScopeMap): Map<string, string[]> {
  const byAnchor = new Map<string, string[]>();
  for (const [id, entry] of scope) {
    for (const anchor of entry.priorOf) byAnchor.set(anchor, [...(byAnchor.get(anchor) ?? []), id]);
  }
  return byAnchor;
}
