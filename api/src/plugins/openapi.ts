import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';

/**
 * OpenAPI from the route schemas (the same TypeBox schemas that validate); UI at /api/docs.
 * Production serves no docs unless PACS_API_DOCS asks: they map every route for an attacker.
 */
export default fp(
  async (app) => {
    if (!app.config.apiDocs) return;
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'PACS API',
          version: '0.1.0',
          description:
            'Log in with POST /api/auth/login, then press Authorize and paste the accessToken. Every access to patient data is audited.',
        },
        components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      },
    });
    await app.register(swaggerUi, {
      routePrefix: '/api/docs',
      // Swagger UI sets a few inline styles; scripts stay 'self' only.
      staticCSP:
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
    });
  },
  { name: 'openapi' },
);
