/**
 * The primary tool, the shortcut help, and the keys that act on them and on the active viewport
 * (shortcuts.ts maps keys to actions). Handled keys stop at the viewer so the app shell's own
 * shortcuts (its "?" help) do not fire as well.
 */
import { type KeyboardEvent, useState } from 'react';
import { actionForKey, type PrimaryTool, type ViewerAction } from './shortcuts';

export function useShortcuts({ ct, run }: { ct: boolean; run: (action: ViewerAction) => void }) {
  const [tool, setTool] = useState<PrimaryTool>('WindowLevel');
  const [helpOpen, setHelpOpen] = useState(false);
  const onKeyDown = (event: KeyboardEvent) => {
    const target = event.target as HTMLElement;
    if (event.altKey || event.ctrlKey || event.metaKey || /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName)) return;
    if (event.key === 'Escape' && helpOpen) {
      setHelpOpen(false);
      event.stopPropagation();
      return;
    }
    const action = actionForKey(event.key, { ct });
    if (!action) return;
    event.preventDefault();
    event.stopPropagation();
    if (action.type === 'tool') setTool(action.tool);
    else if (action.type === 'help') setHelpOpen((open) => !open);
    else run(action);
  };
  return { tool, setTool, helpOpen, setHelpOpen, onKeyDown };
}
