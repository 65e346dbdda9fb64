/** Personal macros over HTTP (`macro:own`): the signed-in user's own, never anyone else's. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ErrorResponse, IdParams, Macro, MacroList, MacroListQuery, MacroWrite } from '@pacs/shared';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { deleteMacro, listMacros, putMacro } from './macro-book';

export default async function macroRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['macros'];

  app.get(
    '/api/macros',
    {
      config: { access: 'macro:own' },
      schema: {
        tags,
        summary: 'Your macros, searched by words when q is given',
        querystring: MacroListQuery,
        response: { 200: MacroList },
      },
    },
    async (request) => ({ items: await listMacros(app.db, request.principal!.userId, request.query.q) }),
  );

  // Successful writes are audited in their transaction, and only when they change something:
  // a replayed create is recorded once.
  app.put(
    '/api/macros/:id',
    {
      config: { access: 'macro:own' },
      schema: {
        tags,
        summary: 'Create or edit your macro under the id your device made (a replay changes nothing)',
        params: IdParams,
        body: MacroWrite,
        response: { 200: Macro, 201: Macro, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse },
      },
    },
    async (request, reply) => {
      const { macro, outcome } = await putMacro(app.db, request, request.principal!.userId, request.params.id, request.body);
      if (outcome === 'created') reply.code(201);
      return macro;
    },
  );

  app.delete(
    '/api/macros/:id',
    {
      config: { access: 'macro:own' },
      schema: { tags, summary: 'Delete your macro', params: IdParams, response: { 204: Type.Null(), 404: ErrorResponse } },
    },
    async (request, reply) => {
      await deleteMacro(app.db, request, request.principal!.userId, request.params.id);
      reply.code(204);
      return null;
    },
  );
}
