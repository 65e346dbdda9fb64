/** The authors of a report with their colour and how much each wrote and deleted. */
import { TEMPLATE_AUTHOR_ID } from '@pacs/shared';
import type { ReportAuthorship } from '../report-api';
import { colourFor } from './colours';

const characters = (n: number) => `${n.toLocaleString()} character${n === 1 ? '' : 's'}`;

export function AuthorLegend({ authorship, failed }: { authorship: ReportAuthorship | null; failed: boolean }) {
  if (!authorship)
    return <p className="muted author-legend">{failed ? 'Who wrote what cannot be shown offline yet.' : 'Loading who wrote what…'}</p>;
  const people = authorship.authors.filter((a) => a.userId !== TEMPLATE_AUTHOR_ID && (a.written > 0 || a.deleted > 0));
  const relayed = authorship.sections.some((s) => s.runs.some((r) => r.relayedBy));
  return (
    <section className="author-legend" aria-label="Authors">
      <ul>
        {people.map((a) => (
          <li key={a.userId} data-author={a.userId}>
            <span className="author-swatch" style={{ background: colourFor(a.userId) }} aria-hidden="true" />
            {a.name} — wrote {characters(a.written)}, deleted {characters(a.deleted)}
          </li>
        ))}
        <li className="muted">Template text is not coloured.</li>
      </ul>
      {relayed && <p className="muted">Text marked with a dashed line came through another user's connection: its author is not proven.</p>}
      {failed && <p className="muted">Offline: showing who wrote what as last known.</p>}
    </section>
  );
}
