/**
 * IHE MRRT import and export: a template in the profile's HTML5 form (template attributes with
 * coding schemes and coded content, sections, form controls) imports with its fields and RadLex
 * codes; export then import gives the same template; a hostile table (not HTML, scripts, event
 * handlers, script URLs, frames, oversize, NUL, missing attributes, repeated ids…) is refused with
 * the reason and nothing stored.
 */
import type { Template } from '@pacs/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, type TestApp } from './support/app';

let t: TestApp;
let admin: string;
let resident: string;

beforeAll(async () => {
  t = await createTestApp();
  admin = (await t.userWithToken('admin')).token;
  resident = (await t.userWithToken('resident')).token;
});
afterAll(async () => t?.close());

const HEAD_XML = `<script type="text/xml">
<template_attributes>
  <status>active</status>
  <coding_schemes>
    <coding_scheme name="RADLEX" designator="2.16.840.1.113883.6.256"/>
  </coding_schemes>
  <coded_content>
    <entry ORIGTXT="findings"><term><code meaning="findings" value="RID50153" scheme="RADLEX"/></term></entry>
    <entry ORIGTXT="nodule-size"><term><code meaning="nodule" value="RID3875" scheme="RADLEX"/></term></entry>
  </coded_content>
</template_attributes>
</script>`;

const BODY = `<section id="findings" class="level1">
<header class="level1">Findings</header>
<p>Lungs clear apart from the nodule.</p>
<p><label for="nodule-size">Size (mm)</label> <input type="text" id="nodule-size" data-field-type="TEXT" required></p>
<p><label for="lung-rads">Lung-RADS</label> <select id="lung-rads" data-field-type="SELECTION"><option value="2">2</option><option value="3" selected>3</option></select></p>
</section>
<section id="impression" class="level1">
<header class="level1">Impression</header>
<p><label for="summary">Summary</label><textarea id="summary">No change.</textarea></p>
</section>`;

const mrrt = (body = BODY, head = HEAD_XML, title = 'CT chest nodule (MRRT)') =>
  `<!DOCTYPE html>\n<html>\n<head>\n<meta charset="UTF-8">\n<title>${title}</title>\n${head}\n</head>\n<body>\n${body}\n</body>\n</html>\n`;

const importing = (html: string, extra: object = { modalities: ['CT'] }, token = admin) =>
  t.app.inject({ method: 'POST', url: '/api/templates/mrrt', headers: bearer(token), payload: { html, ...extra } });

const count = () => t.app.db.models.Template.count();

describe('MRRT import and export', () => {
  it('imports sections, fields (text, pick list, text area) and their RadLex codes', async () => {
    const response = await importing(mrrt());
    expect(response.statusCode, response.body).toBe(201);
    const template = response.json() as Template;
    expect(template).toMatchObject({ name: 'CT chest nodule (MRRT)', modalities: ['CT'], bodyPart: '' });
    expect(template.sections).toEqual([
      {
        key: 'findings',
        title: 'Findings',
        defaultText: 'Lungs clear apart from the nodule.',
        code: { scheme: 'RADLEX', value: 'RID50153', meaning: 'findings' },
        fields: [
          {
            id: 'nodule-size',
            label: 'Size (mm)',
            kind: 'text',
            required: true,
            code: { scheme: 'RADLEX', value: 'RID3875', meaning: 'nodule' },
          },
          { id: 'lung-rads', label: 'Lung-RADS', kind: 'choice', choices: ['2', '3'], default: '3' },
        ],
      },
      { key: 'impression', title: 'Impression', fields: [{ id: 'summary', label: 'Summary', kind: 'text', default: 'No change.' }] },
    ]);
    const audit = await t.app.db.models.AuditLog.count({ where: { objectType: 'Template', objectId: template.id, action: 'C' } });
    expect(audit).toBe(1);
  });

  it('export then import gives the same template', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/templates',
      headers: bearer(admin),
      payload: {
        name: 'MR knee <"quoted"> & \'more\'',
        modalities: ['MR', 'CT'],
        bodyPart: 'KNEE',
        procedureCodes: ['MRKNEE', 'MRK.2'],
        sections: [
          { key: 'technique', title: 'Technique', defaultText: 'Sagittal PD.\n\nAxial T2 <fat sat>.', placeholder: 'Sequences' },
          {
            key: 'findings',
            title: 'Findings & more',
            picklist: ['Intact.', 'Torn <grade 2>.'],
            code: { scheme: 'RADLEX', value: 'RID50153', meaning: 'findings' },
            fields: [
              {
                id: 'meniscus',
                label: 'Meniscus',
                kind: 'choice',
                choices: ['intact', 'torn', 'a "b" & c'],
                required: true,
                default: 'torn',
              },
              {
                id: 'effusion',
                label: 'Effusion <mm>',
                kind: 'text',
                default: '3 & 4',
                code: { scheme: 'LN', value: '12-3', meaning: "it's" },
              },
            ],
          },
          { key: 'impression', title: 'Impression', defaultText: '' },
        ],
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    const original = created.json() as Template;
    const exported = await t.app.inject({ url: `/api/templates/${original.id}/mrrt`, headers: bearer(resident) });
    expect(exported.statusCode).toBe(200);
    expect(exported.headers['content-type']).toContain('text/html');
    expect(exported.body).toContain('<template_attributes>');
    const reimported = await importing(exported.body, {});
    expect(reimported.statusCode, reimported.body).toBe(201);
    const copy = reimported.json() as Template;
    const comparable = (tpl: Template) => ({
      name: tpl.name,
      modalities: tpl.modalities,
      bodyPart: tpl.bodyPart,
      procedureCodes: tpl.procedureCodes,
      sections: tpl.sections,
    });
    expect(comparable(copy)).toEqual(comparable(original));
    expect(copy.id).not.toBe(original.id);
  });

  it('only template managers import; an unknown template exports 404', async () => {
    const before = await count();
    expect((await importing(mrrt(), { modalities: ['CT'] }, resident)).statusCode).toBe(403);
    expect(await count()).toBe(before);
    const missing = await t.app.inject({ url: '/api/templates/3f1d2c4b-5a69-4788-9abc-def012345678/mrrt', headers: bearer(admin) });
    expect(missing.statusCode).toBe(404);
  });

  const section = (inner: string) => `<section id="s"><header>S</header>${inner}</section>`;
  const HEAD_PLAIN = '<script type="text/xml"><template_attributes><coding_schemes/></template_attributes></script>';
  const plain = (body: string) => mrrt(body, HEAD_PLAIN);
  it.each([
    ['not HTML', 'just some words, no markup', /well-formed/],
    ['an unclosed document', '<html><body><section id="s"><header>S</header><p>x', /well-formed/],
    ['a <script> alert in the body', mrrt(section('<p>x</p><script>alert(1)</script>')), /scripts are not allowed/],
    ['a JavaScript script in the head', mrrt(BODY, `${HEAD_XML}<script>alert(1)</script>`), /scripts are not allowed|more than one/],
    ['an onload= handler', mrrt(BODY).replace('<body>', '<body onload="alert(1)">'), /event-handler attribute onload/],
    ['an onerror= handler on an image', mrrt(section('<p><img src="x" onerror="alert(1)"></p>')), /event-handler/],
    ['a javascript: link', mrrt(section('<p><a href="javascript:alert(1)">x</a></p>')), /script URL in href/],
    ['a javascript: link hidden by a tab', mrrt(section('<p><a href="java&#9;script:alert(1)">x</a></p>')), /script URL/],
    ['a data: URL', mrrt(section('<p><a href="data:text/html,<b>x</b>">x</a></p>')), /script URL/],
    ['an iframe', mrrt(section('<p>x</p><iframe src="https://example.org"></iframe>')), /<iframe> is not allowed/],
    ['an embedded SVG', mrrt(section('<p><svg><circle r="1"/></svg></p>')), /<svg> is not allowed/],
    ['a meta refresh', mrrt(BODY, `${HEAD_XML}<meta http-equiv="refresh" content="0;url=https://example.org">`), /http-equiv/],
    ['a NUL character', mrrt(BODY).replace('Lungs clear', 'Lungs\u0000clear'), /NUL/],
    ['missing template attributes', mrrt(BODY, ''), /template_attributes/],
    [
      'template attributes that are not XML',
      mrrt(BODY, '<script type="text/xml"><template_attributes><status></template_attributes></script>'),
      /template attributes/,
    ],
    ['another XML root', mrrt(BODY, '<script type="text/xml"><something/></script>'), /not <template_attributes>/],
    ['repeated ids', mrrt(BODY.replace('id="lung-rads"', 'id="nodule-size"')), /"nodule-size" is used twice/],
    ['an undeclared coding scheme', mrrt(BODY, HEAD_XML.replace('name="RADLEX"', 'name="SNOMED"')), /does not declare/],
    ['a code for an unknown element', mrrt(BODY.replace('id="findings"', 'id="other"')), /neither a section nor a field/],
    ['a field without a label', plain(section('<p><input type="text" id="f"></p>')), /no label/],
    ['a password input', plain(section('<p><label for="f">F</label><input type="password" id="f"></p>')), /not type=password/],
    ['a section without a title', plain('<section id="s"><p>x</p></section>'), /no <header> title/],
    ['no sections', mrrt('<p>x</p>'), /no <section>/],
    ['a bad section id', plain('<section id="Bad Id"><header>S</header></section>'), /not valid/],
    ['a pick list without choices', plain(section('<p><label for="f">F</label><select id="f"></select></p>')), /no choices/],
  ])('refuses %s, saying why, storing nothing', async (_what, html, reason) => {
    const before = await count();
    const response = await importing(html);
    expect(response.statusCode, response.body).toBe(400);
    expect(response.json().message).toMatch(reason);
    expect(await count()).toBe(before);
  });

  it.each([
    ['an oversize file', { html: mrrt(`${BODY}<!--${'x'.repeat(600 * 1024)}-->`), modalities: ['CT'] }],
    ['no html at all', { modalities: ['CT'] }],
    ['html of the wrong type', { html: 42, modalities: ['CT'] }],
    ['an unknown field', { html: mrrt(), modalities: ['CT'], sections: [] }],
  ])('refuses a request with %s (400, nothing stored)', async (_what, payload) => {
    const before = await count();
    const response = await t.app.inject({ method: 'POST', url: '/api/templates/mrrt', headers: bearer(admin), payload });
    expect(response.statusCode, response.body).toBe(400);
    expect(await count()).toBe(before);
  });

  it('refuses a file naming no modality when none is given', async () => {
    const response = await importing(mrrt(), {});
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toContain('no modality');
  });
});
