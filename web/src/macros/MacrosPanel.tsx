/** The user's own macros: search, create, edit, delete; works offline (changes wait on the device). */
import { type Macro, searchMacros } from '@pacs/shared';
import { type FormEvent, useId, useMemo, useState } from 'react';
import type { MacroDraft, MacroStore } from './macro-store';

const EMPTY: MacroDraft = { trigger: '', label: '', text: '' };

export function MacrosPanel({ store, macros }: { store: MacroStore; macros: readonly Macro[] }) {
  const [query, setQuery] = useState('');
  const [editing, setEditing] = useState<{ id: string; draft: MacroDraft } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const uid = useId();
  const shown = useMemo(() => searchMacros(macros, query), [macros, query]);

  const save = async (event: FormEvent) => {
    event.preventDefault();
    if (!editing) return;
    const draft = { trigger: editing.draft.trigger.trim().replace(/^\./, ''), label: editing.draft.label.trim(), text: editing.draft.text };
    if (!/^[a-z0-9][a-z0-9-]{0,31}$/.test(draft.trigger)) {
      setError('The trigger is lower-case letters, digits and dashes, e.g. normal (typed as .normal)');
      return;
    }
    if (!draft.label || !draft.text.trim()) {
      setError('A macro needs a name and a text');
      return;
    }
    try {
      await store.save(editing.id, draft);
      setEditing(null);
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return (
    <details className="macros-panel card">
      <summary>My macros ({macros.length})</summary>
      <div className="macros-tools">
        <label>
          Search my macros
          <input type="search" value={query} onChange={(e) => setQuery(e.target.value)} />
        </label>
        <button type="button" onClick={() => setEditing({ id: crypto.randomUUID(), draft: EMPTY })}>
          New macro
        </button>
      </div>
      {store.lastRefusal && <p className="muted small">Not kept: {store.lastRefusal}</p>}
      <ul className="macros-list" aria-label="My macros">
        {shown.map((m) => (
          <li key={m.id} data-macro-trigger={m.trigger}>
            <strong>.{m.trigger}</strong> {m.label}
            <span className="muted"> — {m.text.length > 80 ? `${m.text.slice(0, 80)}…` : m.text}</span>
            <button type="button" onClick={() => setEditing({ id: m.id, draft: { trigger: m.trigger, label: m.label, text: m.text } })}>
              Edit
            </button>
            <button type="button" onClick={() => void store.remove(m.id)} aria-label={`Delete .${m.trigger}`}>
              Delete
            </button>
          </li>
        ))}
      </ul>
      {editing && (
        <form className="macro-form" onSubmit={(e) => void save(e)} aria-labelledby={`${uid}-title`}>
          <h4 id={`${uid}-title`}>{macros.some((m) => m.id === editing.id) ? 'Edit macro' : 'New macro'}</h4>
          <label>
            Trigger
            <input
              value={editing.draft.trigger}
              maxLength={33}
              placeholder="normal"
              onChange={(e) => setEditing({ ...editing, draft: { ...editing.draft, trigger: e.target.value } })}
            />
          </label>
          <label>
            Name
            <input
              value={editing.draft.label}
              maxLength={120}
              onChange={(e) => setEditing({ ...editing, draft: { ...editing.draft, label: e.target.value } })}
            />
          </label>
          <label>
            Text
            <textarea
              rows={3}
              value={editing.draft.text}
              maxLength={20000}
              onChange={(e) => setEditing({ ...editing, draft: { ...editing.draft, text: e.target.value } })}
            />
          </label>
          {error && (
            <p className="error" role="alert">
              {error}
            </p>
          )}
          <div className="banner-actions">
            <button type="submit" className="primary">
              Save macro
            </button>
            <button type="button" onClick={() => setEditing(null)}>
              Cancel
            </button>
          </div>
        </form>
      )}
    </details>
  );
}
