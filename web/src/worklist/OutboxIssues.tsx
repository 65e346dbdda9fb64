import { formatPersonName } from '@pacs/shared';
import type { WorklistStudy } from '../api/types';
import type { OutboxEntry } from '../device/db';
import { useWorklist, useWorkspace } from '../device/workspace';

function describeRow(row: WorklistStudy | undefined): string {
  if (!row) return 'unknown';
  return `status ${row.status.replace('_', ' ')}, priority ${row.priority}, ${row.assignee ? `assigned to ${row.assignee.name}` : 'unassigned'}`;
}

/** Changes the server did not accept: conflicts (409) and refusals. Nothing leaves without the user's say. */
export function OutboxIssues() {
  const { engine } = useWorkspace();
  const { outbox, byId } = useWorklist();
  const issues = outbox.filter((e) => e.state === 'conflict' || e.state === 'failed');
  if (issues.length === 0) return null;
  return (
    <section className="banner warn outbox-issues" id="outbox-issues" aria-labelledby="outbox-issues-title" data-testid="conflict-view">
      <h2 id="outbox-issues-title">Changes that need your decision ({issues.length})</h2>
      <ul>
        {issues.map((entry) => (
          <Issue key={entry.seq} entry={entry} row={byId.get(entry.studyId)} engine={engine} />
        ))}
      </ul>
    </section>
  );
}

function Issue({
  entry,
  row,
  engine,
}: {
  entry: OutboxEntry;
  row: WorklistStudy | undefined;
  engine: ReturnType<typeof useWorkspace>['engine'];
}) {
  // A conflicting change is not overlaid: the row is the server's (stored at the conflict, or newer).
  const server = row;
  const who = server ? `${formatPersonName(server.patientName)} (${server.accessionNumber})` : entry.studyId;
  return (
    <li className="issue" data-state={entry.state}>
      {entry.state === 'conflict' ? (
        <>
          <p>
            <strong>Conflict</strong> on {who}: someone changed this study before your change reached the server.
          </p>
          <div className="compare">
            <div>
              <h3>Your change</h3>
              <p data-testid="conflict-mine">{entry.label}</p>
              <p className="muted">
                made {new Date(entry.createdAt).toLocaleString()} on version {entry.baseVersion}
              </p>
            </div>
            <div>
              <h3>Server now</h3>
              <p data-testid="conflict-server">{describeRow(server)}</p>
              <p className="muted">
                version {server?.version}, updated {server ? new Date(server.updatedAt).toLocaleString() : '?'}
              </p>
            </div>
          </div>
          <div className="actions">
            <button type="button" className="primary" onClick={() => void engine.resolveConflict(entry.seq!, 'apply-mine')}>
              Apply my change anyway
            </button>
            <button type="button" onClick={() => void engine.resolveConflict(entry.seq!, 'discard')}>
              Keep the server's version
            </button>
          </div>
        </>
      ) : (
        <>
          <p>
            <strong>Not accepted</strong>: “{entry.label}” on {who}. The server said: {entry.error}
          </p>
          <div className="actions">
            <button type="button" onClick={() => void engine.dismissFailed(entry.seq!)}>
              Dismiss
            </button>
          </div>
        </>
      )}
    </li>
  );
}
