/**
 * /teaching: the teaching file. A resident sees their signed reports, newest first, with how much
 * the attending changed each (words inserted and deleted, share of the preliminary, sections
 * touched); an attending picks a resident. Each row opens the report, whose History shows the
 * changes word by word. Online only.
 */
import { useEffect, useState, useSyncExternalStore } from 'react';
import { errorText } from '../admin/errors';
import { api } from '../api/client';
import type { TeachingReportPage, TeachingResidentList } from '../api/types';
import { session } from '../auth/session';
import { Link } from '../router';

const teachingError = (e: unknown) => errorText(e, 'The teaching file');

export default function TeachingPage() {
  const user = useSyncExternalStore(session.subscribe, session.get, session.get).user;
  const [residents, setResidents] = useState<TeachingResidentList['residents']>([]);
  const [residentId, setResidentId] = useState<string | null>(user?.role === 'resident' ? user.id : null);
  const [page, setPage] = useState<TeachingReportPage | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    api
      .request<TeachingResidentList>('GET', '/api/teaching/residents')
      .then((list) => {
        if (!live) return;
        setResidents(list.residents);
        setResidentId((current) => current ?? list.residents.find((r) => r.signedReports > 0)?.id ?? list.residents[0]?.id ?? null);
      })
      .catch((e: unknown) => live && setProblem(teachingError(e)));
    return () => {
      live = false;
    };
  }, []);

  useEffect(() => {
    if (!residentId) return;
    let live = true;
    api
      .request<TeachingReportPage>('GET', `/api/teaching/reports?residentId=${encodeURIComponent(residentId)}&limit=50`)
      .then((loaded) => {
        if (!live) return;
        setPage(loaded);
        setProblem(null);
      })
      .catch((e: unknown) => live && setProblem(teachingError(e)));
    return () => {
      live = false;
    };
  }, [residentId]);

  return (
    <section className="page" aria-labelledby="teaching-title">
      <div className="page-head">
        <h1 id="teaching-title">Teaching file</h1>
        {user?.role !== 'resident' && residents.length > 0 && (
          <label>
            Resident{' '}
            <select value={residentId ?? ''} onChange={(e) => setResidentId(e.target.value)}>
              {residents.map((r) => (
                <option key={r.id} value={r.id}>
                  {r.name} ({r.signedReports})
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      {problem && (
        <p className="banner warn" role="alert">
          {problem}
        </p>
      )}
      {page && page.items.length === 0 && <p className="muted">No signed reports yet.</p>}
      {page && page.items.length > 0 && (
        <table className="teaching-table">
          <thead>
            <tr>
              <th scope="col">Signed</th>
              <th scope="col">Study</th>
              <th scope="col">Signed by</th>
              <th scope="col">Attending's changes</th>
              <th scope="col">Sections changed</th>
            </tr>
          </thead>
          <tbody>
            {page.items.map((item) => (
              <tr key={item.reportId} data-report-id={item.reportId}>
                <td>{new Date(item.signedAt).toLocaleDateString()}</td>
                <td>
                  <Link href={`/report/${encodeURIComponent(item.studyId)}?images=off`}>
                    {item.studyDescription || 'Study'} · {item.accessionNumber}
                  </Link>
                </td>
                <td>{item.signedBy}</td>
                <td data-testid="teaching-changes">
                  {item.changes
                    ? `+${item.changes.inserted} −${item.changes.deleted} words (${item.changes.percent} % of ${item.changes.wordsBefore})`
                    : 'no preliminary kept'}
                </td>
                <td>{item.changes?.sectionsChanged.join(', ') || '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
