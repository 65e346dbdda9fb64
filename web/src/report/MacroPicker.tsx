/** Insert a macro or template phrase at the caret, from a list filtered as you type. */
import { type KeyboardEvent, useId, useMemo, useState } from 'react';

export interface Macro {
  label: string;
  text: string;
  /** Template section the phrase belongs to, if any. */
  section?: string;
  /** Typing `.<trigger>` and a space or Tab inserts the text. */
  trigger?: string;
}

export const BUILT_IN_MACROS: readonly Macro[] = [
  { label: 'Normal study', text: 'No acute abnormality.', trigger: 'normal' },
  { label: 'Comparison: none', text: 'None.', trigger: 'nocomp' },
  { label: 'Recommend follow-up', text: 'Recommend follow-up imaging in 3 months.', trigger: 'followup' },
  { label: 'Clinical correlation', text: 'Correlate clinically.', trigger: 'correlate' },
  { label: 'Discussed', text: 'Findings discussed with the referring clinician.', trigger: 'discussed' },
];

export function filterMacros(macros: readonly Macro[], query: string): Macro[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  return macros.filter((m) => {
    const hay = `${m.label} ${m.text} ${m.section ?? ''} ${m.trigger ? `.${m.trigger}` : ''}`.toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}

export function MacroPicker({
  macros,
  disabled,
  onInsert,
}: {
  macros: readonly Macro[];
  disabled: boolean;
  onInsert: (text: string) => void;
}) {
  const [query, setQuery] = useState('');
  const [active, setActive] = useState(0);
  const id = useId();
  const shown = useMemo(() => filterMacros(macros, query).slice(0, 12), [macros, query]);
  const pick = (macro: Macro | undefined) => {
    if (!macro) return;
    onInsert(macro.text);
    setQuery('');
  };
  const onKey = (event: KeyboardEvent) => {
    if (event.key === 'ArrowDown') setActive((a) => Math.min(a + 1, shown.length - 1));
    else if (event.key === 'ArrowUp') setActive((a) => Math.max(a - 1, 0));
    else if (event.key === 'Enter') pick(shown[active]);
    else return;
    event.preventDefault();
  };
  return (
    <div className="macro-picker">
      <label htmlFor={id}>Insert phrase</label>
      <input
        id={id}
        type="search"
        placeholder="Search macros and template phrases"
        value={query}
        disabled={disabled}
        onChange={(e) => {
          setQuery(e.target.value);
          setActive(0);
        }}
        onKeyDown={onKey}
        aria-controls={query ? `${id}-list` : undefined}
      />
      {query && (
        <ul id={`${id}-list`} className="macro-list">
          {shown.length === 0 && <li className="muted">No match</li>}
          {shown.map((m, i) => (
            <li key={`${m.section ?? ''}:${m.label}`}>
              <button type="button" className={i === active ? 'active' : undefined} disabled={disabled} onClick={() => pick(m)}>
                <strong>{m.label}</strong>
                {m.trigger ? <span className="muted"> .{m.trigger}</span> : null}
                {m.section ? <span className="muted"> · {m.section}</span> : null}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
