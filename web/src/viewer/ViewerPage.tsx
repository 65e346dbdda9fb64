/**
 * /viewer/:studyId (also /viewer?study=…, the worklist's link) → the Cornerstone3D viewer.
 * /viewer alone lists the studies on this device. Everything here is in the lazy viewer chunk.
 */
import { parseViewerLink } from '@pacs/shared';
import { Link, usePath } from '../router';
import { OfflineStudiesPage } from './OfflineStudiesPage';
import { ViewerApp } from './ViewerApp';

export default function ViewerPage() {
  const path = usePath();
  const params = new URLSearchParams(window.location.search);
  const studyId = decodeURIComponent(path.split('/')[2] ?? '') || params.get('study');
  const source = params.get('source');
  const target = parseViewerLink(`${path}${window.location.search}`);
  if (studyId)
    return (
      <div className="viewer-page">
        <ViewerApp
          key={studyId}
          studyId={studyId}
          prefer={source === 'online' || source === 'offline' ? source : null}
          target={target}
          actions={
            <Link className="viewer-report-link" href={`/report/${encodeURIComponent(studyId)}`}>
              Open report
            </Link>
          }
        />
      </div>
    );
  return <OfflineStudiesPage />;
}
