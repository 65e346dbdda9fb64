/**
 * Report templates: list (template:read), create and edit or retire (template:manage). Templates
 * are never deleted, so a report always knows which template it came from.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  ErrorResponse,
  IdParams,
  MrrtImport,
  Template,
  TemplateCreate,
  TemplateList,
  TemplateListQuery,
  TemplatePatch,
} from '@pacs/shared';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { auditInTransaction } from '../audit/recorder';
import type { TemplateAttributes } from '../db/models';
import { badRequest, conflict, notFound } from '../http-errors';
import { exportMrrt } from './mrrt/export';
import { importMrrt, MrrtRefusal } from './mrrt/import';
import { presentTemplate } from './present';
import { checkTemplateSections } from './templates';

export default async function templateRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { models, sequelize } = app.db;
  const tags = ['templates'];

  /** Checks and stores a new template with its audit row (from the form or an MRRT import). */
  async function storeTemplate(request: FastifyRequest, body: TemplateCreate): Promise<TemplateAttributes> {
    checkTemplateSections(body.sections);
    return sequelize.transaction(async (transaction) => {
      const created = await models.Template.create(
        {
          name: body.name,
          modalities: [...new Set(body.modalities)].join(','),
          bodyPart: body.bodyPart ?? '',
          sections: JSON.stringify(body.sections),
          procedureCodes: [...new Set(body.procedureCodes ?? [])].join(','),
        },
        { transaction },
      );
      await auditInTransaction(request, transaction, {
        eventId: 'ApplicationActivity',
        action: 'C',
        objectType: 'Template',
        objectId: created.get('id'),
        details: { name: body.name },
      });
      return created.get();
    });
  }

  app.get(
    '/api/templates',
    {
      config: { access: 'template:read' },
      schema: {
        tags,
        summary: 'Report templates (active ones unless includeRetired)',
        querystring: TemplateListQuery,
        response: { 200: TemplateList },
      },
    },
    async (request) => {
      const rows = await models.Template.findAll({ order: [['name', 'ASC']], raw: true });
      const modality = request.query.modality;
      const items = rows
        .filter((r) => request.query.includeRetired || r.retiredAt === null)
        .filter((r) => !modality || r.modalities.split(',').includes(modality))
        .map(presentTemplate);
      return { items };
    },
  );

  app.post(
    '/api/templates',
    {
      config: { access: 'template:manage', audit: { eventId: 'ApplicationActivity', action: 'C', objectType: 'Template' } },
      schema: { tags, summary: 'Create a template', body: TemplateCreate, response: { 201: Template, 400: ErrorResponse } },
    },
    async (request, reply) => {
      const row = await storeTemplate(request, request.body);
      reply.code(201);
      return presentTemplate(row);
    },
  );

  app.post(
    '/api/templates/mrrt',
    {
      config: { access: 'template:manage', audit: { eventId: 'ApplicationActivity', action: 'C', objectType: 'Template' } },
      schema: {
        tags,
        summary: 'Import an IHE MRRT template (HTML5); refused with the reason, nothing stored, unless strictly valid and inert',
        body: MrrtImport,
        response: { 201: Template, 400: ErrorResponse },
      },
    },
    async (request, reply) => {
      const { html, modalities, bodyPart } = request.body;
      let template: TemplateCreate;
      try {
        template = importMrrt(html, { ...(modalities ? { modalities } : {}), ...(bodyPart !== undefined ? { bodyPart } : {}) });
      } catch (error) {
        if (error instanceof MrrtRefusal) throw badRequest(`not an acceptable MRRT template: ${error.message}`, 'MRRT_REFUSED');
        throw error;
      }
      const row = await storeTemplate(request, template);
      reply.code(201);
      return presentTemplate(row);
    },
  );

  app.get(
    '/api/templates/:id/mrrt',
    {
      config: { access: 'template:read' },
      schema: { tags, summary: 'The template as IHE MRRT HTML5', params: IdParams },
    },
    async (request, reply) => {
      const row = await models.Template.findByPk(request.params.id, { raw: true });
      if (!row) throw notFound('template not found');
      reply.type('text/html; charset=utf-8');
      reply.header('content-disposition', `attachment; filename="template-${row.id}.html"`);
      return reply.send(exportMrrt(presentTemplate(row)));
    },
  );

  app.patch(
    '/api/templates/:id',
    {
      config: { access: 'template:manage', audit: { eventId: 'ApplicationActivity', action: 'U', objectType: 'Template' } },
      schema: {
        tags,
        summary: 'Edit or retire a template (send the version you saw)',
        params: IdParams,
        body: TemplatePatch,
        response: { 200: Template, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse },
      },
    },
    async (request) => {
      const patch = request.body;
      request.auditSubject = { objectId: request.params.id };
      if (patch.sections) checkTemplateSections(patch.sections);
      const row = await sequelize.transaction(async (transaction) => {
        const template = await models.Template.findByPk(request.params.id, { transaction, lock: transaction.LOCK.UPDATE });
        if (!template) throw notFound('template not found');
        const before = template.get();
        if (before.version !== patch.version) throw conflict('the template changed since you loaded it', 'STALE_VERSION');
        const changes: Partial<TemplateAttributes> = {};
        if (patch.name !== undefined) changes.name = patch.name;
        if (patch.modalities !== undefined) changes.modalities = [...new Set(patch.modalities)].join(',');
        if (patch.bodyPart !== undefined) changes.bodyPart = patch.bodyPart;
        if (patch.sections !== undefined) changes.sections = JSON.stringify(patch.sections);
        if (patch.procedureCodes !== undefined) changes.procedureCodes = [...new Set(patch.procedureCodes)].join(',');
        if (patch.retired !== undefined) changes.retiredAt = patch.retired ? (before.retiredAt ?? new Date()) : null;
        await template.update({ ...changes, version: before.version + 1 }, { transaction });
        await auditInTransaction(request, transaction, {
          eventId: 'ApplicationActivity',
          action: 'U',
          objectType: 'Template',
          objectId: before.id,
          details: { fields: Object.keys(changes), ...(patch.retired !== undefined ? { retired: patch.retired } : {}) },
        });
        return template.get();
      });
      return presentTemplate(row);
    },
  );
}
