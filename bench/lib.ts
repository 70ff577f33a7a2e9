// Small helpers shared by the benches: timing, percentiles, peak memory sampling, the JSON result line,
// the database backend measured, a policy with the per-user throttles raised.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseDocument } from 'yaml';
import { policyFilesAt } from '../policies/load.ts';

export function now(): number {
  return performance.now();
}

export function percentile(sortedMs: number[], p: number): number {
  if (sortedMs.length === 0) return NaN;
  const i = Math.min(sortedMs.length - 1, Math.max(0, Math.ceil((p / 100) * sortedMs.length) - 1));
  return sortedMs[i]!;
}

/** Samples RSS every `everyMs` until stopped; returns the peak in MiB. */
export function peakRss(everyMs = 20): { stop: () => number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()); }, everyMs);
  return { stop: () => { clearInterval(timer); peak = Math.max(peak, process.memoryUsage.rss()); return peak / 1024 / 1024; } };
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** What answers MONGODB_URI (set by scripts/services.mjs): figures differ by orders of magnitude between them. */
export function databaseBackend(): string {
  return process.env.CUSTOS_MONGO_BACKEND ?? 'external';
}

/** Prints the bench's result, with the database backend it ran on, as its last stdout line. */
export function report(result: Record<string, unknown> & { bench: string }): void {
  process.stdout.write(`${JSON.stringify({ ...result, backend: databaseBackend() })}\n`);
}

/**
 * A copy of the policy at `policyDir` (rules, masks and context rules unchanged) whose per-user rate
 * limit and anomaly detectors are raised to their schema maxima, in a new temporary directory. A bench
 * driving hundreds of lookups a second from a handful of askers measures the lookup path, not the
 * throttle that would (correctly) refuse or freeze those askers; the limiter and detectors still run.
 */
export function unthrottledPolicyDir(policyDir: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'custos-bench-policy-'));
  const detector = { max: 100_000, windowMinutes: 1, freeze: false };
  for (const file of policyFilesAt(policyDir)) {
    const doc = parseDocument(readFileSync(file, 'utf8'));
    if (doc.hasIn(['settings'])) {
      doc.setIn(['settings', 'security'], {
        rateLimit: { perMinute: 10_000, burst: 10_000 },
        detectors: { distinctCustomers: detector, refusals: detector, exports: detector, offHours: detector },
      });
    }
    writeFileSync(path.join(dir, path.basename(file)), doc.toString());
  }
  return dir;
}

export function requireEnv(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run benches with \`npm run bench\`, which starts the services`);
  return v;
}
