import { Link } from '../router';

/** Placeholder route: collaborative reporting (Tiptap + Yjs) arrives with issue 8, in its own lazy chunk. */
export default function ReportPage() {
  return (
    <section className="page" aria-labelledby="report-title">
      <h1 id="report-title">Report</h1>
      <p className="placeholder">
        The collaborative report editor (Tiptap + Yjs, resident and attending together, offline-capable) is built in{' '}
        <strong>issue 8</strong>, on the reporting API of issue 5.
      </p>
      <p>
        <Link href="/worklist">Back to the worklist</Link>
      </p>
    </section>
  );
}
