/** The series of the active viewport's study (with thumbnails) and the patient's earlier studies to compare. */
import { OFFLINE_SCHEME } from './cornerstone';
import type { ViewerSeries } from './dicom-json';
import { formatDate } from './format';
import { PriorReport } from './PriorReport';
import { SeriesThumbnail } from './SeriesThumbnail';
import type { Prior } from './use-priors';
import type { Pane } from './use-study';

export function SeriesPanel({
  studyId,
  twoUp,
  activePane,
  pane,
  selected,
  thumbnails,
  onChoose,
  priors,
  comparing,
  online,
  onCompare,
  priorProblem,
}: {
  /** The page's study (the other viewport may show a prior). */
  studyId: string;
  twoUp: boolean;
  activePane: number;
  /** The active viewport's pane: its study's series are listed. */
  pane: Pane | null;
  selected: ViewerSeries | undefined;
  /** Thumbnails render once the first image is shown, so they do not compete with it. */
  thumbnails: boolean;
  onChoose: (seriesUid: string) => void;
  priors: readonly Prior[];
  /** The prior shown beside, if any. */
  comparing: string | null;
  online: boolean;
  onCompare: (prior: Prior) => void;
  priorProblem: string | null;
}) {
  return (
    <nav aria-label="Series" className="viewer-side">
      {twoUp && (
        <p className="muted viewer-side-title">
          Viewport {activePane + 1}:{' '}
          {pane?.loaded.studyId === studyId ? 'this study' : `prior ${formatDate(pane?.loaded.study.studyDate ?? '')}`}
        </p>
      )}
      <ul className="viewer-series">
        {pane?.loaded.study.series.map((s) => {
          const middle = s.frames[Math.floor(s.frames.length / 2)];
          const scheme = pane.loaded.source === 'offline' ? OFFLINE_SCHEME : 'wadors';
          return (
            <li key={s.seriesInstanceUid}>
              <button
                type="button"
                aria-pressed={s.seriesInstanceUid === selected?.seriesInstanceUid}
                onClick={() => onChoose(s.seriesInstanceUid)}
              >
                <SeriesThumbnail imageId={middle ? `${scheme}:${window.location.origin}${middle.path}` : null} enabled={thumbnails} />
                <span>
                  <strong>
                    {s.modality} #{s.seriesNumber ?? '–'}
                  </strong>{' '}
                  {s.description || '(no description)'}
                  <br />
                  <span className="count">
                    {s.imageCount} image{s.imageCount === 1 ? '' : 's'}
                    {s.frames.length !== s.imageCount ? ` · ${s.frames.length} frames` : ''}
                  </span>
                  {pane.loaded.source === 'offline' && <span className="badge">offline</span>}
                </span>
              </button>
            </li>
          );
        })}
      </ul>
      <h2 className="viewer-side-title">Earlier studies</h2>
      {priors.length === 0 ? (
        <p className="muted">None in the worklist on this device.</p>
      ) : (
        <ul className="viewer-priors" aria-label="Earlier studies of this patient">
          {priors.map((p) => {
            const unreachable = !online && !p.onDevice;
            return (
              <li key={p.id}>
                <span>
                  {formatDate(p.studyDate ?? '')} {p.modalities.join('/')} {p.description}
                  {p.onDevice && <span className="badge">offline</span>}
                </span>
                <button
                  type="button"
                  disabled={unreachable}
                  aria-pressed={comparing === p.id && twoUp}
                  onClick={() => onCompare(p)}
                  title={unreachable ? 'Not on this device and the network is unreachable' : 'Open beside the current study'}
                >
                  Compare
                </button>
              </li>
            );
          })}
        </ul>
      )}
      {priorProblem && <p role="alert">{priorProblem}</p>}
      {comparing && twoUp && <PriorReport studyId={comparing} online={online} />}
    </nav>
  );
}
