/**
 * Is this report PDF authentic? Anyone signed in picks a PDF they were given (by e-mail, on paper
 * scanned back, from another hospital's record) and learns whether it is, byte for byte, one this
 * system sealed, and which report it shows. The file goes to the API and nowhere else.
 */
import { type ChangeEvent, useState } from 'react';
import { errorText } from '../admin/errors';
import { api } from '../api/client';
import type { PdfVerification } from '../api/types';

export function VerifyReportPdf() {
  const [verdict, setVerdict] = useState<(PdfVerification & { file: string }) | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const check = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    event.target.value = '';
    if (!file) return;
    setBusy(true);
    setVerdict(null);
    try {
      const pdf = new Blob([await file.arrayBuffer()], { type: 'application/pdf' });
      setVerdict({ ...(await api.request<PdfVerification>('POST', '/api/reports/pdf-verification', pdf)), file: file.name });
      setError(null);
    } catch (e) {
      setError(errorText(e, 'The PDF check'));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="verify-pdf">
      <label>
        Check a report PDF
        <input type="file" accept="application/pdf,.pdf" onChange={(e) => void check(e)} disabled={busy} />
      </label>
      {busy && <p aria-busy="true">Checking…</p>}
      {error && (
        <p className="banner warn" role="alert">
          {error}
        </p>
      )}
      {verdict?.authentic && (
        <p className="banner final-banner" role="status" data-verdict="authentic">
          {verdict.file}: authentic — sealed by this system
          {verdict.key === 'retired' ? ' with an earlier (retired) key' : ''}, unchanged since. It shows report {verdict.reportId} as{' '}
          {verdict.status}.
        </p>
      )}
      {verdict && !verdict.authentic && (
        <p className="banner danger" role="alert" data-verdict="not-authentic">
          {verdict.file}: not authentic — {verdict.reason}. Do not rely on it.
        </p>
      )}
    </div>
  );
}
