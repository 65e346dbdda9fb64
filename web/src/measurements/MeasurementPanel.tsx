/**
 * The viewer's list of the study's measurements: the user's own with a label they can change and a
 * delete button; everyone else's marked with their author, read-only.
 */
import { DEFAULT_MEASUREMENT_LABEL, type Measurement, measurementValueText } from '@pacs/shared';
import type { MeasurementsApi } from './use-measurements';
import './measurements.css';

function placeOf(m: Measurement): string {
  return `series ${m.seriesNumber ?? '?'} image ${m.instanceNumber ?? '?'}${m.frame > 1 ? ` frame ${m.frame}` : ''}`;
}

export function MeasurementPanel({ measurements }: { measurements: MeasurementsApi }) {
  const { annotations, problem } = measurements;
  const items = annotations?.measurements ?? [];
  return (
    <details className="measurement-panel" data-testid="measurement-panel">
      <summary>
        Measurements ({items.length}){annotations?.pending ? ` · ${annotations.pending} waiting to be sent` : ''}
        {annotations?.fromDevice ? ' · offline copy' : ''}
      </summary>
      {problem && <p role="alert">{problem}</p>}
      <ul>
        {items.map((m) => (
          <li key={m.id} data-testid="measurement-item" data-mine={m.mine} className={m.mine ? 'mine' : 'theirs'}>
            {m.mine ? (
              <input
                aria-label={`Label of ${DEFAULT_MEASUREMENT_LABEL[m.tool]} ${measurementValueText(m.tool, m.values, m.units)}`}
                defaultValue={m.label}
                placeholder={DEFAULT_MEASUREMENT_LABEL[m.tool]}
                maxLength={200}
                onBlur={(event) => {
                  if (event.target.value !== m.label) measurements.setLabel(m.id, event.target.value);
                }}
              />
            ) : (
              <strong>{m.label || DEFAULT_MEASUREMENT_LABEL[m.tool]}</strong>
            )}{' '}
            {measurementValueText(m.tool, m.values, m.units)} · {placeOf(m)}
            {m.mine ? (
              <button type="button" onClick={() => measurements.remove(m.id)} aria-label={`Delete measurement ${m.label || m.tool}`}>
                Delete
              </button>
            ) : (
              <span className="muted">
                {' '}
                · by {m.authorName} ({m.authorRole}), read-only
              </span>
            )}
          </li>
        ))}
      </ul>
    </details>
  );
}
