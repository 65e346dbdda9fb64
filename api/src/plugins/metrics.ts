import { bearerMatches } from '@pacs/server-kit/secrets';
import fp from 'fastify-plugin';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** Prometheus metrics: request rate, latency and errors per route, plus process metrics. */
export default fp(
  async (app) => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: 'pacs_api_' });
    const labelNames = ['method', 'route', 'status_code'] as const;
    const duration = new Histogram({
      name: 'pacs_api_http_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    const requests = new Counter({ name: 'pacs_api_http_requests_total', help: 'HTTP requests', labelNames, registers: [registry] });
    const errors = new Counter({
      name: 'pacs_api_http_errors_total',
      help: 'HTTP responses with status >= 500',
      labelNames,
      registers: [registry],
    });

    app.addHook('onResponse', async (request, reply) => {
      // The route pattern, never the raw URL: ids and query strings stay out of label values.
      const labels = { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) };
      requests.inc(labels);
      duration.observe(labels, reply.elapsedTime / 1000);
      if (reply.statusCode >= 500) errors.inc(labels);
    });

    const token = app.config.metricsToken;
    app.get('/metrics', { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => {
      if (token) {
        if (!bearerMatches(request.headers.authorization, token)) {
          return reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: 'metrics token required' });
        }
      }
      reply.type(registry.contentType);
      return registry.metrics();
    });
  },
  { name: 'metrics' },
);
