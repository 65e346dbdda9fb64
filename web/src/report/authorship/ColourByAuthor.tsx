/** The "Colour by author" switch, remembered per user on this device (off by default). */
import { useCallback, useState } from 'react';

const storageKey = (userId: string) => `pacs.colour-by-author.${userId}`;

export function useColourByAuthor(userId: string): [boolean, (on: boolean) => void] {
  const [on, setOn] = useState(() => {
    try {
      return localStorage.getItem(storageKey(userId)) === 'on';
    } catch {
      return false;
    }
  });
  const change = useCallback(
    (next: boolean) => {
      setOn(next);
      try {
        localStorage.setItem(storageKey(userId), next ? 'on' : 'off');
      } catch {
        // A full or blocked storage only forgets the choice.
      }
    },
    [userId],
  );
  return [on, change];
}

export function ColourByAuthorToggle({ on, onChange }: { on: boolean; onChange: (on: boolean) => void }) {
  return (
    <button
      type="button"
      className="colour-by-author"
      aria-pressed={on}
      onClick={() => onChange(!on)}
      title="Show who wrote each part of the text"
    >
      Colour by author
    </button>
  );
}
