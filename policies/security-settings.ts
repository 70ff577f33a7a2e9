// Anomaly thresholds, read from the policy YAML (`settings.security`): per-user lookup rate (GCRA) and
// the detectors. Reviewed data like the rest of the policy; every key optional with the defaults below.
import { z } from 'zod';

const detector = (max: number, windowMinutes: number, freeze: boolean) => z.object({
  max: z.number().int().min(1).max(100_000).default(max),
  windowMinutes: z.number().int().min(1).max(7 * 24 * 60).default(windowMinutes),
  /** Freeze the user automatically when the detector trips (the alert is posted either way). */
  freeze: z.boolean().default(freeze),
}).strict().default({ max, windowMinutes, freeze });

export const securitySettingsSchema = z.object({
  rateLimit: z.object({
    /** Sustained lookups per minute a user may make. */
    perMinute: z.number().int().min(1).max(10_000).default(60),
    /** How many lookups may arrive at once before the sustained rate applies. */
    burst: z.number().int().min(1).max(10_000).default(40),
  }).strict().default({ perMinute: 60, burst: 40 }),
  detectors: z.object({
    distinctCustomers: detector(45, 10, true),
    refusals: detector(10, 10, true),
    exports: detector(5, 60, false),
    offHours: detector(20, 60, false),
  }).strict().default({
    distinctCustomers: { max: 45, windowMinutes: 10, freeze: true },
    refusals: { max: 10, windowMinutes: 10, freeze: true },
    exports: { max: 5, windowMinutes: 60, freeze: false },
    offHours: { max: 20, windowMinutes: 60, freeze: false },
  }),
}).strict();

export type SecuritySettings = z.output<typeof securitySettingsSchema>;
export type DetectorName = keyof SecuritySettings['detectors'];
export const DETECTORS: DetectorName[] = ['distinctCustomers', 'refusals', 'exports', 'offHours'];

export const DEFAULT_SECURITY_SETTINGS: SecuritySettings = securitySettingsSchema.parse({});
