/**
 * Report templates: list (active, optionally retired), create, edit, retire and restore through
 * `/api/templates`. Templates are never deleted (reports remember theirs). The API validates;
 * its messages are shown next to the field they name (`body/sections/2/title must …`).
 */
import { type ConceptCode, REPORT_SECTIONS, type TemplateField } from '@pacs/shared';
import { type FormEvent, useCallback, useEffect, useId, useState } from 'react';
import { ApiError, api } from '../api/client';
import type { Template, TemplateCreate, TemplatePatch, TemplateSection } from '../api/types';
import { errorText, reportingErrors } from './errors';
import { ErrorAlert, Notice } from './Messages';
import { formatFields, parseFields } from './template-fields';

interface SectionDraft {
  key: string;
  title: string;
  defaultText: string;
  placeholder: string;
  /** One phrase per line. */
  picklist: string;
  /** Fill-in fields as typed lines (template-fields.ts). */
  fields: string;
  /** The stored fields and the section's code, kept through the form. */
  storedFields: TemplateField[];
  code?: ConceptCode;
}

interface Draft {
  name: string;
  /** As typed: codes separated by commas or spaces. */
  modalities: string;
  bodyPart: string;
  /** Procedure codes an order may name, separated by commas or spaces. */
  procedureCodes: string;
  sections: SectionDraft[];
}

/** Field path (as the API names it, e.g. `sections/2/title`) → message. `''` = the form as a whole. */
type FieldErrors = Record<string, string>;

const emptySection = (key: string, title: string): SectionDraft => ({
  key,
  title,
  defaultText: '',
  placeholder: '',
  picklist: '',
  fields: '',
  storedFields: [],
});

export const NEW_TEMPLATE: Draft = {
  name: '',
  modalities: '',
  bodyPart: '',
  procedureCodes: '',
  sections: REPORT_SECTIONS.map((s) => emptySection(s.key, s.title)),
};

export function draftOf(template: Template): Draft {
  return {
    name: template.name,
    modalities: template.modalities.join(', '),
    bodyPart: template.bodyPart,
    procedureCodes: template.procedureCodes.join(', '),
    sections: template.sections.map((s) => ({
      key: s.key,
      title: s.title,
      defaultText: s.defaultText ?? '',
      placeholder: s.placeholder ?? '',
      picklist: (s.picklist ?? []).join('\n'),
      fields: formatFields(s.fields ?? []),
      storedFields: s.fields ?? [],
      ...(s.code ? { code: s.code } : {}),
    })),
  };
}

/** The request body: empty optional parts are left out, modality codes upper-cased and split. */
export function bodyOf(draft: Draft): Omit<TemplateCreate, 'bodyPart'> & { bodyPart: string } {
  const fieldIds = new Set<string>();
  const procedureCodes = draft.procedureCodes
    .split(/[\s,;]+/)
    .map((c) => c.trim())
    .filter(Boolean);
  return {
    name: draft.name.trim(),
    modalities: draft.modalities
      .split(/[\s,;/]+/)
      .map((m) => m.trim().toUpperCase())
      .filter(Boolean),
    bodyPart: draft.bodyPart.trim(),
    sections: draft.sections.map((s) => {
      const section: TemplateSection = { key: s.key, title: s.title.trim() };
      if (s.defaultText.trim()) section.defaultText = s.defaultText;
      if (s.placeholder.trim()) section.placeholder = s.placeholder.trim();
      const picks = s.picklist
        .split('\n')
        .map((p) => p.trim())
        .filter(Boolean);
      if (picks.length) section.picklist = picks;
      const fields = parseFields(s.fields, s.storedFields, fieldIds);
      if (fields.length) section.fields = fields;
      if (s.code) section.code = s.code;
      return section;
    }),
    ...(procedureCodes.length ? { procedureCodes } : {}),
  };
}

/** A section key from its title (`^[a-z][a-z0-9-]{0,39}$`), unique among `taken`. */
export function keyFor(title: string, taken: readonly string[]): string {
  let base = title
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // accents off: é → e
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (!/^[a-z]/.test(base)) base = `section-${base}`.replace(/-+$/, '');
  base = base.slice(0, 36).replace(/-+$/, '');
  let key = base;
  for (let n = 2; taken.includes(key); n++) key = `${base}-${n}`;
  return key;
}

/** Turns the API's validation message into a field error: `body/sections/0/title must …`. */
export function fieldErrorsOf(error: unknown): FieldErrors {
  if (error instanceof ApiError && error.status === 400) {
    const match = /^body\/(\S+) (.*)$/.exec(error.message);
    if (match) return { [match[1]!]: `${match[2]!}` };
    const missing = /^body must have required property '(\w+)'$/.exec(error.message);
    if (missing) return { [missing[1]!]: 'is required' };
  }
  if (error instanceof ApiError && error.code === 'STALE_VERSION') {
    return { '': 'Someone else changed this template since you opened it. Close and open it again to see their version.' };
  }
  return { '': errorText(error) };
}

export function TemplatesPanel() {
  const [templates, setTemplates] = useState<Template[]>([]);
  const [showRetired, setShowRetired] = useState(false);
  const [editing, setEditing] = useState<Template | 'new' | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const load = useCallback(
    (includeRetired: boolean) =>
      reportingErrors(setError, async () => {
        const list = await api.request<{ items: Template[] }>('GET', `/api/templates?includeRetired=${includeRetired}`);
        setTemplates(list.items);
      }),
    [],
  );
  useEffect(() => {
    void load(showRetired);
  }, [load, showRetired]);

  const saved = (template: Template, message: string) => {
    setEditing(null);
    setNotice(message);
    void load(showRetired);
    setTemplates((list) => [template, ...list.filter((t) => t.id !== template.id)]);
  };

  const setRetired = async (template: Template, retired: boolean) => {
    try {
      const body: TemplatePatch = { version: template.version, retired };
      const updated = await api.request<Template>('PATCH', `/api/templates/${template.id}`, body);
      setNotice(`${updated.name} ${retired ? 'retired' : 'restored'}.`);
      setError(null);
      await load(showRetired);
    } catch (e) {
      setError(fieldErrorsOf(e)[''] ?? errorText(e));
    }
  };

  return (
    <div className="admin-panel">
      <div className="filters">
        <button type="button" className="primary" onClick={() => setEditing('new')} disabled={editing !== null}>
          New template
        </button>
        <label className="checkbox">
          <input type="checkbox" checked={showRetired} onChange={(e) => setShowRetired(e.target.checked)} />
          Show retired templates
        </label>
      </div>
      <ErrorAlert message={error} />
      <Notice message={notice} testId="template-notice" />
      {editing !== null && (
        <TemplateEditor
          key={editing === 'new' ? 'new' : `${editing.id}-${editing.version}`}
          template={editing === 'new' ? null : editing}
          onCancel={() => setEditing(null)}
          onSaved={saved}
        />
      )}
      <div className="table-wrap">
        <table className="data" data-testid="templates-table">
          <caption className="sr-only">Report templates</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Modalities</th>
              <th scope="col">Body part</th>
              <th scope="col">Sections</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {templates.map((t) => (
              <tr key={t.id} data-template-name={t.name} data-retired={t.retired}>
                <td>
                  {t.name} {t.builtIn && <span className="muted">(built in)</span>}
                </td>
                <td>{t.modalities.join(', ')}</td>
                <td>{t.bodyPart || <span className="muted">any</span>}</td>
                <td>{t.sections.map((s) => s.title).join(' · ')}</td>
                <td>{t.retired ? 'retired' : 'active'}</td>
                <td className="actions">
                  <button type="button" onClick={() => setEditing(t)} disabled={editing !== null} aria-label={`Edit ${t.name}`}>
                    Edit
                  </button>
                  <button
                    type="button"
                    onClick={() => void setRetired(t, !t.retired)}
                    aria-label={`${t.retired ? 'Restore' : 'Retire'} ${t.name}`}
                  >
                    {t.retired ? 'Restore' : 'Retire'}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {templates.length === 0 && !error && <p className="muted">No templates.</p>}
    </div>
  );
}

function FieldError({ id, message }: { id: string; message: string | undefined }) {
  if (!message) return null;
  return (
    <span className="field-error" id={id} data-testid="field-error">
      {message}
    </span>
  );
}

function TemplateEditor({
  template,
  onCancel,
  onSaved,
}: {
  template: Template | null;
  onCancel: () => void;
  onSaved: (template: Template, message: string) => void;
}) {
  const [draft, setDraft] = useState<Draft>(template ? draftOf(template) : NEW_TEMPLATE);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const uid = useId();
  const titleId = `${uid}-title`;
  const errId = (path: string) => `${uid}-err-${path.replaceAll('/', '-')}`;
  const described = (path: string) => (errors[path] ? { 'aria-invalid': true, 'aria-describedby': errId(path) } : {});

  const setSection = (index: number, patch: Partial<SectionDraft>) =>
    setDraft((d) => ({ ...d, sections: d.sections.map((s, i) => (i === index ? { ...s, ...patch } : s)) }));
  const moveSection = (index: number, by: -1 | 1) =>
    setDraft((d) => {
      const sections = [...d.sections];
      const [moved] = sections.splice(index, 1);
      sections.splice(index + by, 0, moved!);
      return { ...d, sections };
    });

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    try {
      const body = bodyOf(draft);
      const result = template
        ? await api.request<Template>('PATCH', `/api/templates/${template.id}`, {
            ...body,
            version: template.version,
          } satisfies TemplatePatch)
        : await api.request<Template>('POST', '/api/templates', body satisfies TemplateCreate);
      setErrors({});
      onSaved(result, template ? `Template ${result.name} saved.` : `Template ${result.name} created.`);
    } catch (e) {
      setErrors(fieldErrorsOf(e));
    } finally {
      setBusy(false);
    }
  };

  // Errors the form cannot place next to a field (e.g. a section index that no longer exists).
  const placed = new Set(['', 'name', 'modalities', 'bodyPart', 'procedureCodes', 'sections']);
  draft.sections.forEach((_, i) => {
    for (const f of ['', '/key', '/title', '/defaultText', '/placeholder', '/picklist', '/fields']) placed.add(`sections/${i}${f}`);
  });
  const unplaced = Object.entries(errors).filter(
    ([path]) => !placed.has(path) && !/^modalities\/\d+$/.test(path) && !/^sections\/\d+\/picklist\/\d+$/.test(path),
  );
  const modalityError = Object.entries(errors).find(([path]) => path === 'modalities' || /^modalities\/\d+$/.test(path))?.[1];
  const sectionError = (i: number, field: string) =>
    errors[`sections/${i}/${field}`] ??
    (field === 'picklist' || field === 'fields'
      ? Object.entries(errors).find(([p]) => p.startsWith(`sections/${i}/${field}/`))?.[1]
      : undefined);

  return (
    <form className="card template-editor" onSubmit={submit} aria-labelledby={titleId} noValidate>
      <h2 id={titleId}>{template ? `Edit template ${template.name}` : 'New report template'}</h2>
      {(errors[''] || unplaced.length > 0) && (
        <p className="error" role="alert">
          {errors[''] ?? unplaced.map(([path, message]) => `${path}: ${message}`).join('; ')}
        </p>
      )}
      {Object.keys(errors).length > 0 && !errors[''] && unplaced.length === 0 && (
        <p className="error" role="alert">
          The server did not accept the template: see the marked field.
        </p>
      )}
      <div className="form-row">
        <div className="field">
          <label>
            Name
            <input
              value={draft.name}
              maxLength={120}
              onChange={(e) => setDraft({ ...draft, name: e.target.value })}
              {...described('name')}
            />
          </label>
          <FieldError id={errId('name')} message={errors.name} />
        </div>
        <div className="field">
          <label>
            Modalities
            <input
              value={draft.modalities}
              placeholder="CT, MR"
              onChange={(e) => setDraft({ ...draft, modalities: e.target.value })}
              aria-invalid={modalityError ? true : undefined}
              aria-describedby={`${uid}-modalities-hint${modalityError ? ` ${errId('modalities')}` : ''}`}
            />
          </label>
          <span className="muted small" id={`${uid}-modalities-hint`}>
            DICOM codes, 2–4 capital letters, separated by commas
          </span>
          <FieldError id={errId('modalities')} message={modalityError} />
        </div>
        <div className="field">
          <label>
            Body part
            <input
              value={draft.bodyPart}
              maxLength={64}
              placeholder="any"
              onChange={(e) => setDraft({ ...draft, bodyPart: e.target.value })}
              {...described('bodyPart')}
            />
          </label>
          <FieldError id={errId('bodyPart')} message={errors.bodyPart} />
        </div>
        <div className="field">
          <label>
            Procedure codes
            <input
              value={draft.procedureCodes}
              placeholder="none"
              onChange={(e) => setDraft({ ...draft, procedureCodes: e.target.value })}
              {...described('procedureCodes')}
            />
          </label>
          <span className="muted small">An order naming one of these codes gets this template first</span>
          <FieldError id={errId('procedureCodes')} message={errors.procedureCodes} />
        </div>
      </div>
      <FieldError id={errId('sections')} message={errors.sections} />
      <ol className="template-sections">
        {draft.sections.map((section, i) => (
          <li key={section.key} className="template-section" data-section-key={section.key}>
            <fieldset>
              <legend>{section.title || 'Untitled section'}</legend>
              <div className="field">
                <label>
                  Section title
                  <input
                    value={section.title}
                    maxLength={80}
                    onChange={(e) => setSection(i, { title: e.target.value })}
                    {...described(`sections/${i}/title`)}
                  />
                </label>
                <FieldError id={errId(`sections/${i}/title`)} message={sectionError(i, 'title')} />
              </div>
              <div className="field">
                <label>
                  Default text
                  <textarea
                    rows={3}
                    value={section.defaultText}
                    onChange={(e) => setSection(i, { defaultText: e.target.value })}
                    {...described(`sections/${i}/defaultText`)}
                  />
                </label>
                <FieldError id={errId(`sections/${i}/defaultText`)} message={sectionError(i, 'defaultText')} />
              </div>
              <div className="field">
                <label>
                  Placeholder (hint, never inserted)
                  <input
                    value={section.placeholder}
                    maxLength={400}
                    onChange={(e) => setSection(i, { placeholder: e.target.value })}
                    {...described(`sections/${i}/placeholder`)}
                  />
                </label>
                <FieldError id={errId(`sections/${i}/placeholder`)} message={sectionError(i, 'placeholder')} />
              </div>
              <div className="field">
                <label>
                  Pick-list phrases (one per line)
                  <textarea rows={2} value={section.picklist} onChange={(e) => setSection(i, { picklist: e.target.value })} />
                </label>
                <FieldError id={errId(`sections/${i}/picklist`)} message={sectionError(i, 'picklist')} />
              </div>
              <div className="field">
                <label>
                  Fill-in fields (one per line: <code>Label</code>, <code>*Required</code>, <code>Pick: a | b</code>,{' '}
                  <code>… = default</code>)
                  <textarea rows={3} value={section.fields} onChange={(e) => setSection(i, { fields: e.target.value })} />
                </label>
                <FieldError id={errId(`sections/${i}/fields`)} message={sectionError(i, 'fields')} />
              </div>
              <FieldError id={errId(`sections/${i}/key`)} message={sectionError(i, 'key')} />
              <div className="actions">
                <button
                  type="button"
                  disabled={i === 0}
                  onClick={() => moveSection(i, -1)}
                  aria-label={`Move ${section.title || 'section'} up`}
                >
                  Up
                </button>
                <button
                  type="button"
                  disabled={i === draft.sections.length - 1}
                  onClick={() => moveSection(i, 1)}
                  aria-label={`Move ${section.title || 'section'} down`}
                >
                  Down
                </button>
                <button
                  type="button"
                  disabled={draft.sections.length === 1}
                  onClick={() => setDraft((d) => ({ ...d, sections: d.sections.filter((_, j) => j !== i) }))}
                  aria-label={`Remove ${section.title || 'section'}`}
                >
                  Remove
                </button>
              </div>
            </fieldset>
          </li>
        ))}
      </ol>
      <div className="actions">
        <button
          type="button"
          onClick={() =>
            setDraft((d) => {
              const title = `Section ${d.sections.length + 1}`;
              return {
                ...d,
                sections: [
                  ...d.sections,
                  emptySection(
                    keyFor(
                      title,
                      d.sections.map((s) => s.key),
                    ),
                    title,
                  ),
                ],
              };
            })
          }
        >
          Add section
        </button>
        <button type="submit" className="primary" disabled={busy}>
          {template ? 'Save template' : 'Create template'}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
