/**
 * /report/:studyId (also /report?study=…): the collaborative report editor, in this lazy
 * chunk. Landscape tablet or desktop: split view beside the images (the viewer, lazily loaded);
 * portrait: one pane at a time with a toggle. `?images=off` hides the images (tests, benchmarks).
 */
import { lazy, Suspense, useState } from 'react';
import { useMediaQuery } from '../app/use-media-query';
import { Link, usePath } from '../router';
import { ReportApp } from './ReportApp';

const ViewerApp = lazy(() => import('../viewer/ViewerApp').then((m) => ({ default: m.ViewerApp })));
const WIDE = '(orientation: landscape) and (min-width: 900px)';

export default function ReportPage() {
  const path = usePath();
  const params = new URLSearchParams(window.location.search);
  const studyId = decodeURIComponent(path.split('/')[2] ?? '') || params.get('study');
  const wide = useMediaQuery(WIDE);
  const [images, setImages] = useState(params.get('images') !== 'off');
  const [pane, setPane] = useState<'report' | 'images'>('report');
  if (!studyId) {
    return (
      <section className="page" aria-labelledby="report-title">
        <h1 id="report-title">Report</h1>
        <p>
          Open a study's report from the viewer (<em>Open report</em>) or go to the <Link href="/worklist">worklist</Link>.
        </p>
      </section>
    );
  }
  const showImages = images && (wide || pane === 'images');
  const showReport = wide || pane === 'report' || !images;
  return (
    <section className="page report-page" aria-labelledby="report-title">
      <div className="page-head">
        <h1 id="report-title">Report</h1>
        <div className="banner-actions">
          {images && !wide && (
            <button type="button" className="report-pane-toggle" onClick={() => setPane(pane === 'report' ? 'images' : 'report')}>
              {pane === 'report' ? 'Show images' : 'Show report'}
            </button>
          )}
          <button type="button" onClick={() => setImages(!images)} aria-pressed={images}>
            {images ? 'Hide images' : 'Show images beside'}
          </button>
          <Link href={`/viewer/${encodeURIComponent(studyId)}`}>Open in viewer</Link>
        </div>
      </div>
      <div className={wide && images ? 'report-layout split' : 'report-layout'}>
        {showImages && (
          <div className="report-images">
            <Suspense fallback={<p aria-busy="true">Loading the images…</p>}>
              <ViewerApp studyId={studyId} />
            </Suspense>
          </div>
        )}
        {showReport && (
          <div className="report-pane">
            <ReportApp key={studyId} studyId={studyId} />
          </div>
        )}
      </div>
    </section>
  );
}
