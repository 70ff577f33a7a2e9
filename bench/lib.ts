// Small helpers shared by the benches: timing, percentiles, peak memory sampling, the JSON result line.
import { performance } from 'node:perf_hooks';

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

/** Prints the bench's result as its last stdout line. */
export function report(result: Record<string, unknown> & { bench: string }): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

export function requireEnv(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run benches with \`npm run bench\`, which starts the services`);
  return v;
}
