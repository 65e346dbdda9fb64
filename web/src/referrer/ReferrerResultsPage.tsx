/**
 * /results: a referring physician's own results, the signed reports of the studies they ordered,
 * newest first, with their addenda (their critical results are in the banner above every page). Online only.
 */
import { formatPersonName } from '@pacs/shared';
import { useCallback, useEffect, useState } from 'react';
import { errorText } from '../admin/errors';
import { api } from '../api/client';
import type { ReferrerReport, ReferrerReportPage } from '../api/types';

export default function ReferrerResultsPage() {
  const [reports, setReports] = useState<ReferrerReport[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async (before: string | null) => {
    try {
      const query = before ? `?before=${encodeURIComponent(before)}` : '';
      const page = await api.request<ReferrerReportPage>('GET', `/api/referrer/reports${query}`);
      setReports((list) => (before ? [...(list ?? []), ...page.items] : page.items));
      setNext(page.nextBefore);
      setError(null);
    } catch (e) {
      setError(errorText(e, 'The results page'));
    }
  }, []);
  useEffect(() => {
    void load(null);
  }, [load]);

  return (
    <section className="page" aria-labelledby="results-title">
      <div className="page-head">
        <h1 id="results-title">My patients’ results</h1>
      </div>
      {error && <p role="alert">{error}</p>}
      {reports?.length === 0 && <p className="muted">No signed reports for studies you ordered.</p>}
      {reports?.map((report) => (
        <article key={report.reportId} className="card referrer-report" data-testid="referrer-report">
          <h2>
            {formatPersonName(report.patientName)} <span className="muted">({report.patientId})</span>
          </h2>
          <p className="muted">
            {report.studyDescription} · accession {report.accessionNumber} · signed by {report.signerName}
            {report.signedAt && ` at ${new Date(report.signedAt).toLocaleString()}`}
          </p>
          {!report.verified && (
            <p className="banner danger" role="alert">
              This report no longer matches its signature. Do not rely on it; call the radiology department.
            </p>
          )}
          <pre className="report-text">{report.text}</pre>
          {report.addenda.map((addendum, i) => (
            <section key={`${addendum.signedAt}-${addendum.signerName}`}>
              <h3>
                Addendum {i + 1} <span className="muted">· {addendum.signerName}</span>
              </h3>
              <pre className="report-text">{addendum.text}</pre>
            </section>
          ))}
        </article>
      ))}
      {next && (
        <button type="button" onClick={() => void load(next)}>
          Older results
        </button>
      )}
    </section>
  );
}
