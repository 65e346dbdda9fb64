/**
 * Report templates: list (active, optionally retired), create, edit, retire and restore through
 * `/api/templates`. Templates are never deleted (reports remember theirs). The API validates;
 * its messages are shown next to the field they name (`body/sections/2/title must …`).
 */
import { useCallback, useEffect, useState } from 'react';
import { api } from '../api/client';
import type { Template, TemplatePatch } from '../api/types';
import { errorText, reportingErrors } from './errors';
import { ErrorAlert, Notice } from './Messages';
import { TemplateEditor } from './TemplateEditor';
import { fieldErrorsOf } from './template-draft';

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

  const [importModalities, setImportModalities] = useState('');
  const importMrrt = async (file: File | undefined) => {
    if (!file) return;
    try {
      const modalities = importModalities
        .split(/[\s,;/]+/)
        .map((m) => m.trim().toUpperCase())
        .filter(Boolean);
      const html = await file.text();
      const created = await api.request<Template>('POST', '/api/templates/mrrt', { html, ...(modalities.length ? { modalities } : {}) });
      setError(null);
      saved(created, `${created.name} imported from ${file.name}.`);
    } catch (e) {
      setNotice(null);
      setError(errorText(e));
    }
  };

  const exportMrrt = async (template: Template) => {
    try {
      const href = URL.createObjectURL(await api.blob(`/api/templates/${template.id}/mrrt`));
      const a = document.createElement('a');
      a.href = href;
      a.download = `${template.name.replace(/[^\w.-]+/g, '_')}.mrrt.html`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(href), 60_000);
    } catch (e) {
      setError(errorText(e));
    }
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
        <label>
          Import IHE MRRT (HTML)
          <input
            type="file"
            accept=".html,.htm,text/html"
            onChange={(e) => {
              void importMrrt(e.target.files?.[0]);
              e.target.value = '';
            }}
          />
        </label>
        <label>
          Modalities for the import
          <input
            value={importModalities}
            placeholder="if the file names none, e.g. CT"
            onChange={(e) => setImportModalities(e.target.value)}
          />
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
                  <button type="button" onClick={() => void exportMrrt(t)} aria-label={`Export MRRT of ${t.name}`}>
                    Export MRRT
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
