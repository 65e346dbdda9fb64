import { useEffect, useRef } from 'react';

/** The keyboard shortcuts dialog (`?`). */
export function ShortcutHelp({ onClose }: { onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    ref.current?.showModal?.();
  }, []);
  return (
    <dialog ref={ref} className="card dialog" aria-labelledby="shortcuts-title" onClose={onClose}>
      <h2 id="shortcuts-title">Keyboard shortcuts</h2>
      <dl className="shortcuts">
        <dt>Alt+1 … Alt+6</dt>
        <dd>Dashboard, Worklist, Viewer, Report, Admin, Reconcile (what your role may open)</dd>
        <dt>Alt+S</dt>
        <dd>Sync now</dd>
        <dt>/</dt>
        <dd>Search the worklist</dd>
        <dt>↑ ↓ or j k</dt>
        <dd>Move through worklist rows</dd>
        <dt>Enter</dt>
        <dd>Show the selected study's details</dd>
        <dt>a</dt>
        <dd>Assign the selected study to me</dd>
        <dt>?</dt>
        <dd>This help</dd>
      </dl>
      <button type="button" onClick={onClose}>
        Close
      </button>
    </dialog>
  );
}
