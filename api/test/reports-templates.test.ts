/** Templates: defaults shipped by the migration, admin create / edit / retire (never delete), matrix. */
import type { Template } from '@pacs/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentFromUpdate, seedUpdate } from '../src/reports/content';
import { bearer, createTestApp, type TestApp } from './support/app';

let t: TestApp;
let admin: string;
let resident: string;
let technologist: string;
beforeAll(async () => {
  t = await createTestApp();
  admin = (await t.userWithToken('admin')).token;
  resident = (await t.userWithToken('resident')).token;
  technologist = (await t.userWithToken('technologist')).token;
});
afterAll(async () => t?.close());

const SECTIONS = ['Clinical history', 'Technique', 'Comparison', 'Findings', 'Impression'];

describe('report templates', () => {
  it('ships defaults for CT, MR, CR/DX and US with the five sections', async () => {
    const response = await t.app.inject({ url: '/api/templates', headers: bearer(resident) });
    expect(response.statusCode).toBe(200);
    const items = response.json().items as Template[];
    for (const modality of ['CT', 'MR', 'CR', 'DX', 'US']) {
      const template = items.find((i) => i.modalities.includes(modality));
      expect(template, modality).toBeDefined();
      expect(template!.sections.map((s) => s.title)).toEqual(SECTIONS);
      expect(template!.builtIn).toBe(true);
    }
    const cr = await t.app.inject({ url: '/api/templates?modality=DX', headers: bearer(resident) });
    expect((cr.json().items as Template[]).map((i) => i.name)).toEqual(['Radiograph (CR/DX)']);
    expect((await t.app.inject({ url: '/api/templates', headers: bearer(technologist) })).statusCode).toBe(403);
  });

  it('admins create, edit and retire templates; stale versions get 409; others may not manage', async () => {
    const body = {
      name: 'CT chest (lung nodule)',
      modalities: ['CT'],
      bodyPart: 'CHEST',
      sections: [
        { key: 'clinical-history', title: 'Clinical history' },
        { key: 'findings', title: 'Findings', placeholder: 'Nodules: size, location', picklist: ['No pulmonary nodules.'] },
        { key: 'impression', title: 'Impression', defaultText: 'Fleischner category: ' },
      ],
    };
    expect((await t.app.inject({ method: 'POST', url: '/api/templates', headers: bearer(resident), payload: body })).statusCode).toBe(403);
    const created = await t.app.inject({ method: 'POST', url: '/api/templates', headers: bearer(admin), payload: body });
    expect(created.statusCode, created.body).toBe(201);
    const template = created.json() as Template;
    expect(template).toMatchObject({ name: body.name, bodyPart: 'CHEST', retired: false, version: 1, builtIn: false });

    const patch = (payload: object) =>
      t.app.inject({ method: 'PATCH', url: `/api/templates/${template.id}`, headers: bearer(admin), payload });
    const renamed = await patch({ version: 1, name: 'CT chest' });
    expect(renamed.json()).toMatchObject({ name: 'CT chest', version: 2 });
    expect((await patch({ version: 1, name: 'again' })).statusCode).toBe(409);
    const retired = await patch({ version: 2, retired: true });
    expect(retired.json()).toMatchObject({ retired: true, version: 3 });
    const list = (await t.app.inject({ url: '/api/templates', headers: bearer(admin) })).json().items as Template[];
    expect(list.some((i) => i.id === template.id)).toBe(false);
    const all = (await t.app.inject({ url: '/api/templates?includeRetired=true', headers: bearer(admin) })).json().items as Template[];
    expect(all.some((i) => i.id === template.id)).toBe(true);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/templates/${template.id}`, headers: bearer(admin) })).statusCode).toBe(404);
    const bad = await t.app.inject({ method: 'POST', url: '/api/templates', headers: bearer(admin), payload: { ...body, sections: [] } });
    expect(bad.statusCode).toBe(400);
  });

  it('seeds the Yjs document the web editor expects: level-2 headings and paragraphs in fragment "default"', () => {
    const update = seedUpdate([{ title: 'Findings', defaultText: 'Normal.' }, { title: 'Impression' }]);
    const content = contentFromUpdate(update);
    expect(content.doc).toEqual({
      type: 'doc',
      content: [
        { type: 'heading', attrs: { level: 2 }, content: [{ type: 'text', text: 'Findings' }] },
        { type: 'paragraph', content: [{ type: 'text', text: 'Normal.' }] },
        { type: 'heading', attrs: { level: 2 }, content: [{ type: 'text', text: 'Impression' }] },
        { type: 'paragraph' },
      ],
    });
    expect(content.sections).toEqual([
      { key: 'findings', title: 'Findings', text: 'Normal.' },
      { key: 'impression', title: 'Impression', text: '' },
    ]);
  });
});
