// `custos demo` as a newcomer runs it, for the tests that need the whole thing: no MONGODB_URI /
// REDIS_URL (it starts its own services under a fresh data dir), in its own process group so a test can
// check that nothing of it survives, killed at teardown whatever happened.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { custosArgs } from './run-custos.ts';

export interface DemoProcess {
  child: ChildProcess;
  dataDir: string;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
  /** The playground's URL, once the demo printed it. */
  url: Promise<string>;
}

/** Polls `probe` until it gives a value (errors count as "not yet"); throws after `ms`. */
export async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await Promise.resolve().then(probe).catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts `custos demo ARGS --data-dir <fresh> --port 0 --customers N`, root as its working dir. */
export function startDemo(t: ExecutionContext, root: string, args: readonly string[], opts: { customers?: number; urlWithinMs?: number } = {}): DemoProcess {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'custos-demo-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn' };
  const child = spawn(process.execPath, custosArgs([...args, '--data-dir', dataDir, '--port', '0', '--customers', String(opts.customers ?? 40)]),
    { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ } });
  const url = until('the playground URL', opts.urlWithinMs ?? 120_000, () => /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout)?.[1]);
  return { child, dataDir, stdout: () => stdout, stderr: () => stderr, exited, url };
}
