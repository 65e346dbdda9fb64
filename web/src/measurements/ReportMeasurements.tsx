/**
 * Beside the report: the study's measurements, each insertable into the Findings as a sentence
 * linked to its image, and the key images. A signed report takes no more: that goes into an addendum.
 */
import {
  type DicomExportResult,
  isReportLocked,
  type MeasurementCitation,
  measurementSentence,
  type ReportStatus,
  viewerLink,
} from '@pacs/shared';
import { useCallback, useEffect, useState } from 'react';
import { ApiError, api, NetworkError } from '../api/client';
import { usePoll } from '../app/use-poll';
import { useWorkspace } from '../device/workspace';
import { Link } from '../router';
import { loadAnnotations, onAnnotationsChanged, type StudyAnnotations } from './measurement-outbox';
import { insertCitation } from './report-links';
import './measurements.css';

export function ReportMeasurements({ studyId, report }: { studyId: string; report: { id: string; status: ReportStatus } }) {
  const { db, user } = useWorkspace();
  const [annotations, setAnnotations] = useState<StudyAnnotations | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const final = isReportLocked(report.status);

  const reload = useCallback(
    () =>
      void loadAnnotations(db, studyId, user.id)
        .then(setAnnotations)
        .catch((error: Error) => setMessage(error.message)),
    [db, studyId, user.id],
  );
  usePoll(reload, 30_000);
  useEffect(() => {
    return onAnnotationsChanged((changed) => changed === studyId && reload());
  }, [reload, studyId]);

  const insert = async (measurementId: string) => {
    setMessage(null);
    try {
      const citation = await api.request<MeasurementCitation>('POST', `/api/reports/${report.id}/measurement-citations`, { measurementId });
      if (!insertCitation(report.id, citation)) setMessage('The report is not open for editing here.');
    } catch (error) {
      if (error instanceof ApiError && error.code === 'REPORT_FINAL') setMessage('This report is signed: add an addendum instead.');
      else if (error instanceof NetworkError)
        setMessage('Inserting a measurement needs a connection (it may still be waiting to be sent).');
      else setMessage((error as Error).message);
    }
  };

  /** Stores the measurements (DICOM SR) or key images (Key Object Selection) in the study in the archive, for other viewers. */
  const archive = async (what: 'measurements/dicom-sr' | 'key-images/dicom-kos', label: string) => {
    setMessage(null);
    try {
      const done = await api.request<DicomExportResult>('POST', `/api/studies/${encodeURIComponent(studyId)}/${what}`);
      setMessage(`${label} stored in the archive (${done.items}).`);
    } catch (error) {
      setMessage(error instanceof NetworkError ? 'Storing in the archive needs a connection.' : (error as Error).message);
    }
  };

  const measurements = annotations?.measurements ?? [];
  const keyImages = annotations?.keyImages ?? [];
  return (
    <section className="report-measurements" aria-labelledby="report-measurements-title">
      <h2 id="report-measurements-title">Measurements and key images</h2>
      {final && measurements.length > 0 && <p className="muted">This report is signed: add an addendum to report further measurements.</p>}
      {message && <p role="status">{message}</p>}
      {measurements.length === 0 ? (
        <p className="muted">No measurements on this study yet.</p>
      ) : (
        <ul aria-label="Measurements">
          {measurements.map((m) => (
            <li key={m.id} data-testid="report-measurement">
              {measurementSentence(m, m)}
              {!m.mine && <span className="muted"> · by {m.authorName}</span>}{' '}
              <button type="button" disabled={final} onClick={() => void insert(m.id)}>
                Insert into report
              </button>
            </li>
          ))}
        </ul>
      )}
      {measurements.length > 0 && (
        <button type="button" onClick={() => void archive('measurements/dicom-sr', 'Measurements')}>
          Store measurements in the archive (DICOM SR)
        </button>
      )}
      <h3>Key images</h3>
      {keyImages.length === 0 ? (
        <p className="muted">No key images flagged.</p>
      ) : (
        <ul aria-label="Key images">
          {keyImages.map((k) => (
            <li key={k.id} data-testid="report-key-image">
              <Link href={viewerLink({ ...k, studyId })}>
                Series {k.seriesNumber ?? '?'} image {k.instanceNumber ?? '?'}
                {k.frame > 1 ? ` frame ${k.frame}` : ''}
              </Link>
              {k.note && ` — ${k.note}`}
              <span className="muted"> · flagged by {k.flaggedByName || 'you'}</span>
            </li>
          ))}
        </ul>
      )}
      {keyImages.length > 0 && (
        <button type="button" onClick={() => void archive('key-images/dicom-kos', 'Key images')}>
          Store key images in the archive (DICOM)
        </button>
      )}
    </section>
  );
}
