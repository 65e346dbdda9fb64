/** Settings of emergency access to restricted patients (spread into the API's settings schema). */
import { DEFAULT_BREAK_GLASS_MINUTES } from '@pacs/shared';
import { type Static, Type } from 'typebox';

export const BREAK_GLASS_ENV_SCHEMA = Type.Object({
  PACS_BREAK_GLASS_MINUTES: Type.Number({
    minimum: 0.05,
    maximum: 1440,
    default: DEFAULT_BREAK_GLASS_MINUTES,
    description: 'how long an emergency access window stays open after a user breaks the glass (minutes; fractions allowed)',
  }),
  PACS_BREAK_GLASS_SWEEP_SECONDS: Type.Number({
    minimum: 0.1,
    maximum: 300,
    default: 15,
    description: 'how often expired emergency access windows are closed and their stop event recorded (access itself ends at expiry)',
  }),
});
type BreakGlassEnv = Static<typeof BREAK_GLASS_ENV_SCHEMA>;

export interface BreakGlassConfig {
  windowMs: number;
  sweepMs: number;
}

export function breakGlassConfigOf(env: BreakGlassEnv): BreakGlassConfig {
  return { windowMs: Math.round(env.PACS_BREAK_GLASS_MINUTES * 60_000), sweepMs: Math.round(env.PACS_BREAK_GLASS_SWEEP_SECONDS * 1000) };
}
