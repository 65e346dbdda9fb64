/** The form that creates or edits one template; the API validates and its messages show beside the fields. */
import { type FormEvent, useId, useState } from 'react';
import { api } from '../api/client';
import type { Template, TemplateCreate, TemplatePatch } from '../api/types';
import {
  bodyOf,
  type Draft,
  draftOf,
  emptySection,
  type FieldErrors,
  fieldErrorsOf,
  keyFor,
  NEW_TEMPLATE,
  type SectionDraft,
} from './template-draft';

function FieldError({ id, message }: { id: string; message: string | undefined }) {
  if (!message) return null;
  return (
    <span className="field-error" id={id} data-testid="field-error">
      {message}
    </span>
  );
}

export function TemplateEditor({
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
