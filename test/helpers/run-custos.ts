// Runs the real `custos` command as a child process (as an operator would), capturing its output.
// Processes start node on the JavaScript `npm test` compiled once (scripts/build-test-js.mjs, named by
// CUSTOS_TEST_JS_DIR); run without it (plain `npx ava`), they boot tsx on the sources instead.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Node's arguments to run one of our entry points (`bot/cli/main.ts`, `workers/main.ts`, a path from the
 * checkout root) as a process: its compiled JavaScript when the test run built it, else the source via tsx.
 */
export function entryArgs(entry: string): string[] {
  const js = process.env.CUSTOS_TEST_JS_DIR;
  if (js) return ['--enable-source-maps', path.join(js, entry.replace(/\.ts$/, '.js'))];
  return ['--import', 'tsx', path.join(root, entry)];
}

/** Node's arguments for `custos ARGS…`. */
export function custosArgs(args: readonly string[]): string[] {
  return [...entryArgs('bot/cli/main.ts'), ...args];
}

export interface CliResult { code: number; stdout: string; stderr: string }

export function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, custosArgs(args), {
      cwd: root, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/**
 * `custos ARGS…` inside this process, through `main` (what the binary runs), for what needs no process of
 * its own: help texts, and commands that run and return (e.g. `audit verify`) when a test runs them many
 * times, with `env` in place of the process's environment meanwhile. Output written to process.stdout /
 * stderr meanwhile is captured and the environment swapped; so only from serial tests, and not for
 * commands that start services or install signal handlers. A file that runs a command here still runs it
 * once as a real process (runCli), to prove the binary.
 */
export async function runCliHere(args: string[], env?: NodeJS.ProcessEnv): Promise<CliResult> {
  const { main } = await import('../../bot/cli/program.ts');
  let stdout = '';
  let stderr = '';
  const { stdout: out, stderr: err } = process;
  const [writeOut, writeErr, exitCode, processEnv] = [out.write, err.write, process.exitCode, process.env];
  out.write = ((chunk: string | Uint8Array) => { stdout += String(chunk); return true; }) as typeof out.write;
  err.write = ((chunk: string | Uint8Array) => { stderr += String(chunk); return true; }) as typeof err.write;
  if (env) process.env = { ...env };
  try {
    return { code: await main(args), stdout, stderr };
  } finally {
    out.write = writeOut;
    err.write = writeErr;
    process.exitCode = exitCode;
    process.env = processEnv;
  }
}

/** A free local port (the system picks one; it is closed again before the caller binds it). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface StartedCustos { child: ChildProcess; base: string; exited: Promise<number | null>; stderr(): string }

/**
 * `custos start` as an operator runs it, its chat bot on a free port named by `portSetting` (e.g.
 * LARK_HTTP_PORT); resolves once `/readyz` answers 200, or throws with the process's last output after 60 s.
 */
export async function startCustosReady(env: NodeJS.ProcessEnv, portSetting: string): Promise<StartedCustos> {
  // Port 0, and the port read from the bot's own "… bot started" line: a port found free here and handed
  // over could be taken by another test's process before this one binds it (then /readyz answered 200
  // from that process, and the test talked to the wrong bot).
  const child = spawn(process.execPath, custosArgs(['start']), {
    cwd: root, env: { PATH: process.env.PATH, ...env, [portSetting]: '0', HTTP_PORT: '0', LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const started = new RegExp(`"port":(\\d+)[^\\n]*"${portSetting.split('_')[0]!.toLowerCase()} bot started"`);
  const end = Date.now() + 60_000;
  for (;;) {
    const port = started.exec(stderr)?.[1];
    const base = port ? `http://127.0.0.1:${port}` : null;
    const ok = base !== null && await fetch(`${base}/readyz`).then((r) => r.status === 200).catch(() => false);
    if (ok) return { child, base, exited, stderr: () => stderr };
    if (Date.now() > end) { child.kill('SIGKILL'); throw new Error(`not ready: ${stderr.slice(-2000)}`); }
    await new Promise((r) => setTimeout(r, 300));
  }
}
