/**
 * Single sign-on routes. The two browser legs (`/api/auth/oidc/login`, `/callback`) answer with
 * redirects, never JSON: the browser arrives by navigation, so a failure lands on the login page
 * with a code it explains (`/?sso_error=…`), and local sign-in stays offered there. The session a
 * sign-in ends with is ours (refresh cookie + access token, as after a password), so the PWA and
 * the sync tokens work as before. The admin's group → role mapping lives here too.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ErrorResponse, GroupRoleMappings, SignInMethods, SsoSettingsView } from '@pacs/shared';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { auditEntryFor, auditInTransaction } from '../../audit/recorder';
import { HttpError } from '../../http-errors';
import { createSessionIssuer } from '../session-issuer';
import { SIGN_IN_TTL_MS } from './sign-ins';
import { type SingleSignOn, SsoFailure, signInMethodsOf } from './single-sign-on';

/** Binds a sign-in to the browser that started it; sent back on the provider's top-level redirect (Lax). */
export const SSO_COOKIE = 'pacs_sso';
const SSO_COOKIE_PATH = '/api/auth/oidc';

const signInAudit = { eventId: 'UserAuthentication', action: 'E', objectType: 'User' } as const;

export default async function ssoRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { config } = app;
  const { signIn } = createSessionIssuer(app);
  const configured = (): SingleSignOn => {
    if (!app.sso) throw new HttpError(404, 'single sign-on is not set up here', 'SSO_NOT_CONFIGURED');
    return app.sso;
  };
  const cookieOptions = { httpOnly: true, sameSite: 'lax' as const, secure: config.cookieSecure, path: SSO_COOKIE_PATH };

  /** A failed sign-in: audited (an answer that does not verify is a security alert), then the login page. */
  async function failed(request: FastifyRequest, reply: FastifyReply, failure: SsoFailure) {
    request.auditRecorded = true;
    const base = auditEntryFor(request, 401, signInAudit);
    const details = { ...base.details, event: 'sso-login', refused: failure.code, detail: failure.detail };
    await app.audit.record({ ...base, outcome: 4, objectId: failure.userId ?? undefined, details });
    if (failure.code === 'refused') {
      await app.audit.record({ ...base, eventId: 'SecurityAlert', outcome: 8, objectId: failure.userId ?? undefined, details });
    }
    reply.clearCookie(SSO_COOKIE, cookieOptions);
    return reply.redirect(`/?sso_error=${encodeURIComponent(failure.code)}`, 303);
  }

  app.get(
    '/api/auth/methods',
    {
      config: { access: 'public' },
      schema: { tags: ['auth'], summary: 'The ways of signing in this installation offers', response: { 200: SignInMethods } },
    },
    async () => signInMethodsOf(config.signIn),
  );

  app.get(
    '/api/auth/oidc/login',
    {
      config: { access: 'public', rateLimit: { max: config.loginRatePerMinute, timeWindow: 60_000 } },
      schema: {
        tags: ['auth'],
        summary: "Start a single sign-on: redirects to the hospital's OpenID provider",
        querystring: Type.Object({ returnTo: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false }),
        response: { 404: ErrorResponse },
      },
    },
    async (request, reply) => {
      const sso = configured();
      try {
        const { binding, url } = await sso.begin(request.query.returnTo ?? '/');
        reply.setCookie(SSO_COOKIE, binding, { ...cookieOptions, maxAge: SIGN_IN_TTL_MS / 1000 });
        return reply.redirect(url.href, 303);
      } catch (error) {
        if (error instanceof SsoFailure) return failed(request, reply, error);
        throw error;
      }
    },
  );

  app.get(
    '/api/auth/oidc/callback',
    {
      config: { access: 'public', rateLimit: { max: config.loginRatePerMinute, timeWindow: 60_000 } },
      schema: {
        tags: ['auth'],
        summary: "The OpenID provider's answer: signs in and redirects into the app, or to the login page with the reason",
        querystring: Type.Record(Type.String(), Type.String({ maxLength: 4096 })),
        response: { 404: ErrorResponse },
      },
    },
    async (request, reply) => {
      const sso = configured();
      const query = new URLSearchParams(request.url.split('?')[1] ?? '');
      let finished: Awaited<ReturnType<SingleSignOn['finish']>>;
      try {
        finished = await sso.finish(request.cookies[SSO_COOKIE], query);
      } catch (error) {
        if (error instanceof SsoFailure) return failed(request, reply, error);
        throw error;
      }
      reply.clearCookie(SSO_COOKIE, cookieOptions);
      const { user, event, changes, tokens } = finished;
      request.auditSubject = { objectId: user.id };
      await signIn(
        request,
        reply,
        user,
        { method: 'sso', sso: event, ...(Object.keys(changes).length ? { changes } : {}) },
        (familyId, transaction) => sso.sessions.save(familyId, user.id, tokens, transaction),
      );
      // The app finds no access token in memory after a navigation: the marker tells it to refresh once.
      const target = new URL(finished.returnTo, 'http://app.invalid');
      target.searchParams.set('signin', 'sso');
      return reply.redirect(`${target.pathname}${target.search}${target.hash}`, 303);
    },
  );

  app.get(
    '/api/sso/settings',
    {
      config: { access: 'user:manage' },
      schema: {
        tags: ['users'],
        summary: 'Single sign-on as configured, with the group → role mapping',
        response: { 200: SsoSettingsView },
      },
    },
    async () => {
      const { sso, localLogin } = config.signIn;
      return {
        enabled: sso !== null,
        issuer: sso?.issuer.href ?? null,
        provisioning: sso?.provisioning ?? null,
        groupsClaim: sso?.groupsClaim.join('.') ?? null,
        localLogin,
        mappings: app.sso ? await app.sso.groupRoles.list() : [],
      };
    },
  );

  app.put(
    '/api/sso/group-roles',
    {
      config: { access: 'user:manage', audit: { eventId: 'SecurityAlert', action: 'U', objectType: 'SsoGroupRoles' } },
      schema: {
        tags: ['users'],
        summary: 'Replace the group → role mapping (ordered: the first group the user has gives the role)',
        body: GroupRoleMappings,
        response: { 200: GroupRoleMappings, 400: ErrorResponse, 404: ErrorResponse },
      },
    },
    async (request) => {
      const sso = configured();
      const { items } = request.body;
      await app.db.sequelize.transaction(async (transaction) => {
        const before = await sso.groupRoles.list(transaction);
        await sso.groupRoles.replace(items, transaction);
        await auditInTransaction(request, transaction, {
          eventId: 'SecurityAlert',
          action: 'U',
          objectType: 'SsoGroupRoles',
          details: { event: 'sso-mapping-change', before, after: items },
        });
      });
      return { items: await sso.groupRoles.list() };
    },
  );
}
