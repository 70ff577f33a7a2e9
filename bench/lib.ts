// Small helpers shared by the benches: timing, percentiles, peak memory sampling, the JSON result line,
// the database backend measured, a policy with the per-user throttles raised.
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
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

/** CPU seconds (user + system) a process has used, from /proc; 0 once it has exited or off Linux. */
function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces, hence the last ')'): utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return 0;
  }
}

/** Pids of every process whose command name is `command` (postgres: a shared server, all its backends). */
function pidsOf(command: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === command) pids.push(Number(entry));
    } catch { /* exited meanwhile */ }
  }
  return pids;
}

/** Socket inodes listening on a TCP port (IPv4 and IPv6), from /proc/net/tcp*. */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try { text = readFileSync(table, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address is "ADDR:PORT" in hex; state 0A is LISTEN; column 9 is the inode.
      if (cols[1]?.endsWith(`:${hex}`) && cols[3] === '0A' && cols[9]) inodes.add(cols[9]);
    }
  }
  return inodes;
}

/**
 * The process listening on `port`: this bench's own Redis or FerretDB, not another one that happens to
 * run on the same (shared) machine under the same command name.
 */
export function pidListeningOn(port: number): number | undefined {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return undefined;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try { fds = readdirSync(`/proc/${entry}/fd`); } catch { continue; }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${entry}/fd/${fd}`));
        if (m && inodes.has(m[1]!)) return Number(entry);
      } catch { /* closed meanwhile */ }
    }
  }
  return undefined;
}

/**
 * CPU used per process group between `start()` and `stop()`: named pids (this process, a child, a
 * service found by its port) and every process of the given command names. Counted per pid, so a
 * process that exits or starts in between never makes a figure negative. Where a bench's time goes when
 * several processes share the cores.
 */
export function cpuMeter(named: Record<string, number | undefined>, commands: string[]): { stop(): Record<string, number> } {
  const read = (): Map<string, Map<number, number>> => {
    const out = new Map<string, Map<number, number>>();
    for (const [name, pid] of Object.entries(named)) if (pid !== undefined) out.set(name, new Map([[pid, cpuSecondsOf(pid)]]));
    for (const command of commands) out.set(command, new Map(pidsOf(command).map((pid) => [pid, cpuSecondsOf(pid)])));
    return out;
  };
  const before = read();
  return {
    stop: () => {
    const after = read();
      return Object.fromEntries([...after].map(([name, pids]) => {
        const was = before.get(name) ?? new Map<number, number>();
        let used = 0;
        for (const [pid, cpu] of pids) used += Math.max(0, cpu - (was.get(pid) ?? 0));
        return [name, used];
      }));
    },
  };
}

/**
 * Records when this process's event loop ran late (a 5 ms timer firing `thresholdMs` or more after it
 * was due): [epoch ms, lateness ms] pairs, for the benches' traces. Until stopped.
 */
export function loopStalls(thresholdMs = 20): { stop(): Array<[number, number]> } {
  const stalls: Array<[number, number]> = [];
  let due = now() + 5;
  const timer = setInterval(() => {
    const late = now() - due;
    if (late >= thresholdMs) stalls.push([performance.timeOrigin + due, late]);
    due = now() + 5;
  }, 5);
  return { stop: () => { clearInterval(timer); return stalls; } };
}
