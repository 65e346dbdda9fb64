import { formatPersonName } from '@pacs/shared';
import { useWorklist, useWorkspace } from '../device/workspace';
import { navigate } from '../router';

export function StatBanner() {
  const { worklist } = useWorkspace();
  const { highlighted, byId } = useWorklist();
  const rows = [...highlighted].map((id) => byId.get(id)).filter((r) => r !== undefined);
  if (rows.length === 0) return null;
  return (
    <div className="banner stat" role="alert" data-testid="stat-banner">
      <strong>STAT arrival{rows.length > 1 ? `s (${rows.length})` : ''}:</strong>{' '}
      {rows
        .slice(0, 3)
        .map((r) => `${formatPersonName(r.patientName)} — ${r.description || r.modalities.join('/')}`)
        .join('; ')}
      <span className="banner-actions">
        <button type="button" onClick={() => navigate('/worklist')}>
          Show in worklist
        </button>
        <button type="button" onClick={() => worklist.acknowledge()}>
          Dismiss
        </button>
      </span>
    </div>
  );
}
