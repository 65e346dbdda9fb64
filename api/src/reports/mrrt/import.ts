/**
 * IHE MRRT (Management of Radiology Report Templates) import: an HTML5 template whose head
 * carries `<script type="text/xml"><template_attributes>` (coding schemes, coded content linking
 * element ids to codes such as RadLex) and whose body holds `<section id>` with a `<header>`, text
 * paragraphs and form controls (text inputs, text areas, selects) that become fill-in fields.
 *
 * Parsed strictly (parse5; any HTML parse error refuses) and refused with the reason, nothing
 * stored, when it carries anything active: a script other than MRRT's XML, event-handler
 * attributes, javascript:/vbscript:/data: URLs, frames, objects, forms, SVG/MathML, a base or a
 * refresh; or when ids repeat, the template attributes are missing or a code names an undeclared
 * scheme.
 */
import { type ConceptCode, TemplateCreate, type TemplateField, type TemplateSection } from '@pacs/shared';
import { templateFieldProblems } from '@pacs/shared/report-document';
import { type DefaultTreeAdapterMap, type ParserError, parse } from 'parse5';
import { Value } from 'typebox/value';
import { childrenNamed, parseXml, type XmlElement } from './xml';

type Node = DefaultTreeAdapterMap['node'];
type Element = DefaultTreeAdapterMap['element'];

/** Largest MRRT file accepted (characters). */
export const MRRT_MAX_CHARS = 512 * 1024;

export class MrrtRefusal extends Error {
  override name = 'MrrtRefusal';
}

const refuse = (reason: string): never => {
  throw new MrrtRefusal(reason);
};

const FORBIDDEN_ELEMENTS = new Set([
  'iframe',
  'frame',
  'frameset',
  'object',
  'embed',
  'applet',
  'base',
  'link',
  'style',
  'form',
  'svg',
  'math',
  'template',
  'portal',
  'noscript',
]);
const URL_SCHEME = /^(javascript|vbscript|data|livescript):/i;
/** The value without C0 controls and spaces, as a browser reads a URL's scheme. */
const withoutControls = (value: string) => [...value].filter((ch) => ch.charCodeAt(0) > 0x20).join('');

const isElement = (node: Node): node is Element => 'tagName' in node;
const attr = (element: Element, name: string) => element.attrs.find((a) => a.name === name)?.value;
const elementsOf = (node: Node): Element[] =>
  'childNodes' in node ? node.childNodes.filter(isElement).flatMap((child) => [child, ...elementsOf(child)]) : [];

function textOf(node: Node): string {
  if (node.nodeName === '#text') return (node as DefaultTreeAdapterMap['textNode']).value;
  if (!('childNodes' in node)) return '';
  return node.childNodes.map(textOf).join('');
}

/** The reasons a document is unsafe to keep, first one thrown. */
function refuseActiveContent(all: readonly Element[]): void {
  let scripts = 0;
  const ids = new Set<string>();
  for (const element of all) {
    const tag = element.tagName;
    if (FORBIDDEN_ELEMENTS.has(tag)) refuse(`<${tag}> is not allowed in a template`);
    if (tag === 'script') {
      const type = (attr(element, 'type') ?? '').trim().toLowerCase();
      if (type !== 'text/xml') refuse('scripts are not allowed (only MRRT\'s <script type="text/xml"> template attributes)');
      if (element.parentNode && 'tagName' in element.parentNode && element.parentNode.tagName !== 'head')
        refuse('the template attributes script belongs in <head>');
      if (attr(element, 'src') !== undefined) refuse('a script may not load anything');
      scripts += 1;
    }
    if (tag === 'meta' && attr(element, 'http-equiv') !== undefined) refuse('<meta http-equiv> is not allowed');
    for (const { name, value } of element.attrs) {
      if (name.toLowerCase().startsWith('on')) refuse(`event-handler attribute ${name} on <${tag}>`);
      // Browsers ignore control characters and spaces inside a scheme: strip them before looking.
      if (URL_SCHEME.test(withoutControls(value))) refuse(`a script URL in ${name} on <${tag}>`);
      if (name === 'style' && /expression\s*\(|url\s*\(/i.test(value)) refuse(`active style on <${tag}>`);
      if (name === 'id') {
        if (ids.has(value)) refuse(`id "${value}" is used twice`);
        ids.add(value);
      }
    }
  }
  if (scripts > 1) refuse('more than one template attributes script');
}

/** Codes by the id of the element they describe, from `<coded_content>`; schemes must be declared. */
function codesOf(attributes: XmlElement): Map<string, ConceptCode> {
  const schemes = new Set(
    childrenNamed(attributes, 'coding_schemes').flatMap((list) => childrenNamed(list, 'coding_scheme').map((s) => s.attrs.name ?? '')),
  );
  const codes = new Map<string, ConceptCode>();
  for (const entry of childrenNamed(attributes, 'coded_content').flatMap((c) => childrenNamed(c, 'entry'))) {
    const id = entry.attrs.ORIGTXT ?? refuse('a coded_content entry without ORIGTXT');
    const code = childrenNamed(entry, 'term').flatMap((t) => childrenNamed(t, 'code'))[0] ?? refuse(`no code for "${id}"`);
    const { scheme, value, meaning } = code.attrs;
    if (!scheme || !value || !meaning) refuse(`the code for "${id}" needs scheme, value and meaning`);
    if (!schemes.has(scheme!)) refuse(`the code for "${id}" names scheme ${scheme}, which coding_schemes does not declare`);
    codes.set(id, { scheme: scheme!, value: value!, meaning: meaning! });
  }
  return codes;
}

function fieldOf(control: Element, section: Element, codes: Map<string, ConceptCode>): TemplateField {
  const id = attr(control, 'id') ?? refuse(`a <${control.tagName}> without an id`);
  const labelElement = elementsOf(section).find((e) => e.tagName === 'label' && attr(e, 'for') === id);
  const label = (labelElement ? textOf(labelElement) : (attr(control, 'title') ?? '')).trim() || refuse(`field "${id}" has no label`);
  const field: TemplateField = { id, label, kind: 'text' };
  if (control.tagName === 'select') {
    const options = elementsOf(control).filter((e) => e.tagName === 'option');
    field.kind = 'choice';
    field.choices = options.map((o) => (attr(o, 'value') ?? textOf(o)).trim());
    const selected = options.find((o) => attr(o, 'selected') !== undefined);
    if (selected) field.default = (attr(selected, 'value') ?? textOf(selected)).trim();
  } else if (control.tagName === 'textarea') {
    const text = textOf(control);
    if (text) field.default = text;
  } else {
    const type = (attr(control, 'type') ?? 'text').toLowerCase();
    if (type !== 'text') refuse(`field "${id}": only text inputs, text areas and selects are fields (not type=${type})`);
    const value = attr(control, 'value');
    if (value) field.default = value;
  }
  if (attr(control, 'required') !== undefined) field.required = true;
  const code = codes.get(id);
  if (code) field.code = code;
  return field;
}

const CONTROLS = new Set(['input', 'select', 'textarea']);

function sectionOf(section: Element, codes: Map<string, ConceptCode>): TemplateSection {
  const key = attr(section, 'id') ?? refuse('a <section> without an id');
  const header = section.childNodes.filter(isElement).find((e) => e.tagName === 'header');
  const title = (header ? textOf(header) : '').trim() || refuse(`section "${key}" has no <header> title`);
  if (elementsOf(section).some((e) => e.tagName === 'section')) refuse(`section "${key}" holds another section (not supported)`);
  const lines: string[] = [];
  const fields: TemplateField[] = [];
  let picklist: string[] | undefined;
  for (const child of section.childNodes) {
    if (!isElement(child)) {
      if (textOf(child).trim() !== '') refuse(`text outside a paragraph in section "${key}"`);
      continue;
    }
    if (child === header) continue;
    if (child.tagName === 'ul' && attr(child, 'data-pacs') === 'picklist') {
      picklist = elementsOf(child)
        .filter((e) => e.tagName === 'li')
        .map((li) => textOf(li).trim());
      continue;
    }
    const controls = [child, ...elementsOf(child)].filter((e) => CONTROLS.has(e.tagName));
    if (controls.length > 0) fields.push(...controls.map((c) => fieldOf(c, section, codes)));
    else lines.push(textOf(child));
  }
  const out: TemplateSection = { key, title };
  if (lines.length > 0) out.defaultText = lines.join('\n');
  const placeholder = attr(section, 'data-placeholder');
  if (placeholder) out.placeholder = placeholder;
  if (picklist) out.picklist = picklist;
  if (fields.length > 0) out.fields = fields;
  const code = codes.get(key);
  if (code) out.code = code;
  return out;
}

const listOf = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);

/** The template an MRRT document describes; throws MrrtRefusal with the reason. */
export function importMrrt(html: string, defaults: { modalities?: string[]; bodyPart?: string } = {}): TemplateCreate {
  if (html.length > MRRT_MAX_CHARS) refuse(`the file is larger than ${MRRT_MAX_CHARS / 1024} KiB`);
  if (html.includes('\u0000')) refuse('the file contains NUL characters');
  const errors: ParserError[] = [];
  const document = parse(html, { onParseError: (error) => errors.push(error) });
  const [first] = errors;
  if (first) refuse(`not well-formed HTML5 (${first.code} at line ${first.startLine})`);
  const all = elementsOf(document);
  refuseActiveContent(all);

  const head = all.find((e) => e.tagName === 'head')!;
  const script = elementsOf(head).find((e) => e.tagName === 'script') ?? refuse('no <script type="text/xml"> with <template_attributes>');
  let attributes: XmlElement;
  try {
    attributes = parseXml(textOf(script));
  } catch (error) {
    return refuse(`template attributes: ${(error as Error).message}`);
  }
  if (attributes.name !== 'template_attributes') refuse('the XML script is not <template_attributes>');
  const codes = codesOf(attributes);

  const title = textOf(elementsOf(head).find((e) => e.tagName === 'title') ?? refuse('no <title>')).trim();
  const meta = (name: string) => attr(elementsOf(head).find((e) => e.tagName === 'meta' && attr(e, 'name') === name) ?? head, 'content');
  const body = all.find((e) => e.tagName === 'body')!;
  const sections = body.childNodes.filter(isElement).filter((e) => e.tagName === 'section');
  if (sections.length === 0) refuse('no <section> in the body');
  const known = new Set([...sections.map((s) => attr(s, 'id')), ...all.filter((e) => CONTROLS.has(e.tagName)).map((e) => attr(e, 'id'))]);
  for (const id of codes.keys()) if (!known.has(id)) refuse(`coded content names "${id}", which is neither a section nor a field`);

  const modalities = listOf(meta('pacs.modalities'));
  const procedureCodes = listOf(meta('pacs.procedureCodes'));
  const template: TemplateCreate = {
    name: title,
    modalities: modalities.length > 0 ? modalities : (defaults.modalities ?? []),
    bodyPart: meta('pacs.bodyPart') ?? defaults.bodyPart ?? '',
    sections: sections.map((s) => sectionOf(s, codes)),
    ...(procedureCodes.length > 0 ? { procedureCodes } : {}),
  };
  if (template.modalities.length === 0) refuse('no modality: give modalities with the import or <meta name="pacs.modalities">');
  if (!Value.Check(TemplateCreate, template)) {
    const [error] = Value.Errors(TemplateCreate, template);
    refuse(`the template it describes is not valid: ${error?.instancePath ?? ''} ${error?.message ?? ''}`.trim());
  }
  const problems = templateFieldProblems(template.sections);
  if (problems.length > 0) refuse(`template fields: ${problems.join('; ')}`);
  return template;
}
