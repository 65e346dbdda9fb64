import { type Static, Type } from 'typebox';

export const HealthCheck = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('down')]),
  latencyMs: Type.Optional(Type.Number()),
  message: Type.Optional(Type.String()),
});

/** `ok` when every check passes, `degraded` when a non-essential one fails, `down` otherwise. */
export const HealthResponse = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('down')]),
  checks: Type.Record(Type.String(), HealthCheck),
});
export type HealthResponse = Static<typeof HealthResponse>;
