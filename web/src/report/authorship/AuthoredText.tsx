/** A signed report's text with each part in its author's colour (the live editor colours itself). */
import { TEMPLATE_AUTHOR_ID } from '@pacs/shared';
import type { ReportAuthorship } from '../report-api';
import { colourFor } from './colours';

export function AuthoredText({ authorship, label }: { authorship: ReportAuthorship; label: string }) {
  const names = new Map(authorship.authors.map((a) => [a.userId, a.name]));
  return (
    <div className="report-editor signed authored-text" role="document" aria-label={label}>
      {authorship.sections.map((section) => (
        <section key={section.key}>
          {section.title && <h2>{section.title}</h2>}
          <p>
            {section.runs.map((run, i) => {
              const coloured = run.userId !== null && run.userId !== TEMPLATE_AUTHOR_ID;
              return (
                <span
                  // biome-ignore lint/suspicious/noArrayIndexKey: runs have no identity but their order
                  key={i}
                  className={coloured ? `author-mark${run.relayedBy ? ' relayed' : ''}` : undefined}
                  style={coloured ? ({ '--author-colour': colourFor(run.userId!) } as React.CSSProperties) : undefined}
                  data-author={run.userId ?? undefined}
                  title={run.userId ? names.get(run.userId) : 'Unknown author'}
                >
                  {run.text}
                </span>
              );
            })}
          </p>
        </section>
      ))}
    </div>
  );
}
