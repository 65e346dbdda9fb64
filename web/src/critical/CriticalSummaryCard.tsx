/** The dashboard's card of open critical results: the most urgent first, each with its clock. */
import { CRITICAL_CATEGORY_LABELS, can, formatPersonName, type Role } from '@pacs/shared';
import { Link } from '../router';
import { Clock } from './Clock';
import { useOpenCriticalResults } from './open-results';

export function CriticalSummaryCard({ role }: { role: Role }) {
  const allowed = can(role, 'critical:read');
  const open = useOpenCriticalResults(allowed);
  if (!allowed) return null;
  return (
    <section className="card" aria-labelledby="critical-card-title" data-testid="critical-summary">
      <h2 id="critical-card-title">Open critical results ({open?.length ?? '…'})</h2>
      {open === null ? (
        <p className="muted">Needs a connection to the server.</p>
      ) : open.length === 0 ? (
        <p className="muted">None open.</p>
      ) : (
        <ul className="study-list">
          {open.slice(0, 6).map((result) => (
            <li key={result.id}>
              <span className={`badge critical-${result.category}`}>{CRITICAL_CATEGORY_LABELS[result.category].split(':')[0]}</span>{' '}
              {formatPersonName(result.patientName)} <span className="muted">· for {result.recipientName || 'the ordering physician'}</span>
              <Clock result={result} />
            </li>
          ))}
        </ul>
      )}
      <Link href="/critical">All critical results</Link>
    </section>
  );
}
