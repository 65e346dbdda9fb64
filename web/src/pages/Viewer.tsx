import { Link } from '../router';

/** Placeholder route: the Cornerstone3D viewer arrives with issue 7, in its own lazy chunk. */
export default function ViewerPage() {
  const study = new URLSearchParams(window.location.search).get('study');
  return (
    <section className="page" aria-labelledby="viewer-title">
      <h1 id="viewer-title">Viewer</h1>
      <p className="placeholder">
        The diagnostic viewer (Cornerstone3D, online and offline) is built in <strong>issue 7</strong>. This route and its lazy chunk are
        reserved for it.
      </p>
      {study && <p className="muted">Requested study: {study}</p>}
      <p>
        <Link href="/worklist">Back to the worklist</Link>
      </p>
    </section>
  );
}
