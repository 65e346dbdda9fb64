/**
 * Reports signed before the installation's signature existed carry only their content hash, and
 * every read takes a missing signature for tampering. An operator signs them once, at the upgrade,
 * with `pnpm --filter @pacs/api sign-earlier-reports`: each signed row whose hash still matches its
 * content gets the installation's signature; a row whose hash does not match is left as it is (its
 * alarm stands) and counted. Never automatic: a start-up that signed unsigned rows would sign
 * whatever someone wrote into the database after stripping a signature.
 */
import { Op } from 'sequelize';
import type { Models } from '../../db/models';
import { integrityOf } from '../signing';
import { signReportHash } from './report-signature';
import type { SigningKeyring } from './signing-keys';

export interface EarlierReportsOutcome {
  signed: number;
  /** Signed rows without a signature whose hash does not match their content: left alarmed. */
  mismatched: string[];
}

export async function signEarlierReports(models: Pick<Models, 'Report'>, keyring: SigningKeyring): Promise<EarlierReportsOutcome> {
  const rows = await models.Report.findAll({
    where: { status: { [Op.in]: ['final', 'addended'] }, signature: null, contentHash: { [Op.ne]: null } },
    raw: true,
  });
  const outcome: EarlierReportsOutcome = { signed: 0, mismatched: [] };
  for (const row of rows) {
    // With a signature that verifies by construction, what remains to check is the hash.
    const signature = signReportHash(keyring, row.id, row.contentHash!);
    if (integrityOf({ ...row, ...signature }, keyring).verified !== true) {
      outcome.mismatched.push(row.id);
      continue;
    }
    const [updated] = await models.Report.update(signature, { where: { id: row.id, signature: null, contentHash: row.contentHash } });
    outcome.signed += updated;
  }
  return outcome;
}
