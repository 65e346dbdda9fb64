/**
 * MRRT export: the template as an IHE MRRT HTML5 document that import.ts reads back to the same
 * template: the title, our modalities, body part and procedure codes as `pacs.*` meta elements,
 * template attributes with the coding schemes and coded content (section and field ids → codes),
 * one `<section>` per section with its header, text paragraphs and form controls for fields.
 */
import type { ConceptCode, Template, TemplateField, TemplateSection } from '@pacs/shared';

const escapeHtml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

function control(field: TemplateField): string {
  const required = field.required ? ' required' : '';
  if (field.kind === 'choice') {
    const options = (field.choices ?? [])
      .map((c) => `<option value="${escapeHtml(c)}"${c === field.default ? ' selected' : ''}>${escapeHtml(c)}</option>`)
      .join('');
    return `<select id="${escapeHtml(field.id)}" data-field-type="SELECTION"${required}>${options}</select>`;
  }
  const value = field.default ? ` value="${escapeHtml(field.default)}"` : '';
  return `<input type="text" id="${escapeHtml(field.id)}" data-field-type="TEXT"${value}${required}>`;
}

function section(s: TemplateSection): string {
  const parts = [`<header class="level1">${escapeHtml(s.title)}</header>`];
  if (s.defaultText !== undefined) for (const line of s.defaultText.split('\n')) parts.push(`<p>${escapeHtml(line)}</p>`);
  if (s.picklist) parts.push(`<ul data-pacs="picklist">${s.picklist.map((p) => `<li>${escapeHtml(p)}</li>`).join('')}</ul>`);
  for (const f of s.fields ?? []) parts.push(`<p><label for="${escapeHtml(f.id)}">${escapeHtml(f.label)}</label> ${control(f)}</p>`);
  const placeholder = s.placeholder !== undefined ? ` data-placeholder="${escapeHtml(s.placeholder)}"` : '';
  return `<section id="${escapeHtml(s.key)}" class="level1"${placeholder}>\n${parts.join('\n')}\n</section>`;
}

const codeXml = (code: ConceptCode) =>
  `<code meaning="${escapeHtml(code.meaning)}" value="${escapeHtml(code.value)}" scheme="${escapeHtml(code.scheme)}"/>`;

export function exportMrrt(template: Template): string {
  const coded: [string, ConceptCode][] = [];
  for (const s of template.sections) {
    if (s.code) coded.push([s.key, s.code]);
    for (const f of s.fields ?? []) if (f.code) coded.push([f.id, f.code]);
  }
  const schemes = [...new Set(coded.map(([, c]) => c.scheme))];
  const attributes = [
    '<template_attributes>',
    `<status>${template.retired ? 'retired' : 'active'}</status>`,
    '<coding_schemes>',
    ...schemes.map((s) => `<coding_scheme name="${escapeHtml(s)}"/>`),
    '</coding_schemes>',
    '<coded_content>',
    ...coded.map(([id, code]) => `<entry ORIGTXT="${escapeHtml(id)}"><term>${codeXml(code)}</term></entry>`),
    '</coded_content>',
    '</template_attributes>',
  ].join('\n');
  const meta = (name: string, content: string) => `<meta name="${name}" content="${escapeHtml(content)}">`;
  return [
    '<!DOCTYPE html>',
    '<html>',
    '<head>',
    '<meta charset="UTF-8">',
    `<title>${escapeHtml(template.name)}</title>`,
    meta('dcterms.title', template.name),
    meta('pacs.modalities', template.modalities.join(',')),
    meta('pacs.bodyPart', template.bodyPart),
    meta('pacs.procedureCodes', template.procedureCodes.join(',')),
    `<script type="text/xml">\n${attributes}\n</script>`,
    '</head>',
    '<body>',
    ...template.sections.map(section),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
