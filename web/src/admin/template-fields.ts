/**
 * Fill-in fields as an admin types them, one per line: `Label` for free text, `Label: a | b | c`
 * for a pick list, a leading `*` for a required field, `= value` at the end for a default.
 * Fields already stored keep their id and coded concept when their label stays the same.
 */
import type { TemplateField } from '@pacs/shared';

const slug = (label: string) =>
  label
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');

/** A field id from its label (`^[a-z][a-z0-9-]{0,39}$`), unique among `taken`. */
export function fieldIdFor(label: string, taken: ReadonlySet<string>): string {
  let base = slug(label);
  if (!/^[a-z]/.test(base)) base = `field-${base}`.replace(/-+$/, '');
  base = base.slice(0, 36).replace(/-+$/, '');
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
  return id;
}

export function formatFields(fields: readonly TemplateField[]): string {
  return fields
    .map((f) => {
      const head = `${f.required ? '*' : ''}${f.label}`;
      const choices = f.kind === 'choice' ? `: ${(f.choices ?? []).join(' | ')}` : '';
      return `${head}${choices}${f.default ? ` = ${f.default}` : ''}`;
    })
    .join('\n');
}

/** The fields of the typed lines; `previous` (the stored ones) give ids and codes back by label. */
export function parseFields(text: string, previous: readonly TemplateField[], taken: Set<string> = new Set()): TemplateField[] {
  const out: TemplateField[] = [];
  for (const raw of text.split('\n')) {
    let line = raw.trim();
    if (!line) continue;
    const required = line.startsWith('*');
    if (required) line = line.slice(1).trim();
    let fallback: string | undefined;
    const eq = line.lastIndexOf(' = ');
    if (eq >= 0) {
      fallback = line.slice(eq + 3).trim();
      line = line.slice(0, eq).trim();
    }
    const colon = line.indexOf(':');
    const label = (colon >= 0 ? line.slice(0, colon) : line).trim();
    const choices =
      colon >= 0
        ? line
            .slice(colon + 1)
            .split('|')
            .map((c) => c.trim())
            .filter(Boolean)
        : [];
    const before = previous.find((p) => p.label === label);
    const id = before && !taken.has(before.id) ? before.id : fieldIdFor(label, taken);
    taken.add(id);
    const field: TemplateField = { id, label, kind: colon >= 0 ? 'choice' : 'text' };
    if (field.kind === 'choice') field.choices = choices;
    if (required) field.required = true;
    if (fallback) field.default = fallback;
    if (before?.code) field.code = before.code;
    out.push(field);
  }
  return out;
}
