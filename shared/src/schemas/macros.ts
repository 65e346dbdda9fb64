/**
 * Personal macros: a user's own phrases, inserted from the picker or by typing `.<trigger>` and a
 * space or Tab. Ids are made by the client (UUIDs), so a create made offline and replayed is one
 * macro. Configuration, not patient data.
 */
import { type Static, Type } from 'typebox';
import { IsoDateTime, Uuid } from './common';

/** What follows the dot: `.normal`. Lower case, so typing finds it without case rules. */
export const MacroTrigger = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,31}$' });

export const MacroWrite = Type.Object(
  {
    trigger: MacroTrigger,
    label: Type.String({ minLength: 1, maxLength: 120 }),
    text: Type.String({ minLength: 1, maxLength: 20000 }),
  },
  { additionalProperties: false },
);
export type MacroWrite = Static<typeof MacroWrite>;

export const Macro = Type.Object(
  { id: Uuid, trigger: Type.String(), label: Type.String(), text: Type.String(), version: Type.Integer(), updatedAt: IsoDateTime },
  { $id: 'Macro' },
);
export type Macro = Static<typeof Macro>;

export const MacroList = Type.Object({ items: Type.Array(Macro) });
export type MacroList = Static<typeof MacroList>;

export const MacroListQuery = Type.Object(
  { q: Type.Optional(Type.String({ maxLength: 120, description: 'words found in trigger, label or text' })) },
  { additionalProperties: false },
);
export type MacroListQuery = Static<typeof MacroListQuery>;

/** The macros whose trigger, label or text hold every word of `query` (case-insensitive). */
export function searchMacros<T extends Pick<Macro, 'trigger' | 'label' | 'text'>>(macros: readonly T[], query: string): T[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  return macros.filter((m) => {
    const hay = `${m.trigger} ${m.label} ${m.text}`.toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}
