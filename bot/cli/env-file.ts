// `--env-file FILE` on every command (one hook on the program), and the hint a missing setting gets when
// `custos demo` has left its settings behind. The demo writes `.data/demo/demo.env`; a second terminal
// then runs e.g. `custos --env-file .data/demo/demo.env audit verify` against the demo's data.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { CustosError, ErrorCode, isCustosError } from '../core/errors.ts';

/** Where `custos demo` writes its settings by default (relative to the working directory). */
export const DEMO_ENV_FILE = path.join('.data', 'demo', 'demo.env');

/**
 * `NAME=value` lines; `#` comments and blank lines are skipped, one pair of surrounding quotes is
 * removed. A malformed line is an error naming its line number (never its content: it may be a key).
 */
export function parseEnvFile(text: string, file: string): Record<string, string> {
  const out: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) throw new CustosError(ErrorCode.ConfigInvalid, `${file}: line ${i + 1}: expected NAME=value`);
    const value = m[2]!.trim();
    out[m[1]!] = /^(['"]).*\1$/.test(value) ? value.slice(1, -1) : value;
  });
  return out;
}

/** Reads FILE into `env`. The file wins over the environment: naming a file is the more explicit choice. */
export function loadEnvFile(file: string, env: NodeJS.ProcessEnv = process.env): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new CustosError(ErrorCode.ConfigInvalid, `--env-file ${file}: cannot read it (${code})`);
  }
  Object.assign(env, parseEnvFile(text, file));
}

/** Adds the global `--env-file FILE` option; it is applied before any command's action runs. */
export function addEnvFileOption(program: Command): void {
  program.option('--env-file <file>', 'read settings (NAME=value lines) from FILE before running, e.g. .data/demo/demo.env');
  program.hook('preAction', (root) => {
    const file = root.opts<{ envFile?: string }>().envFile;
    if (file) loadEnvFile(file);
  });
}

/**
 * The extra line a configuration error gets when the demo's settings file exists and was not used:
 * fresh random keys (what the generic message suggests) could not read the demo's encrypted data.
 */
export function configErrorHint(err: unknown, argv: readonly string[], cwd = process.cwd()): string {
  if (!isCustosError(err, ErrorCode.ConfigInvalid) || argv.includes('--env-file')) return '';
  if (!existsSync(path.join(cwd, DEMO_ENV_FILE))) return '';
  return `custos: the demo's settings are in ${DEMO_ENV_FILE}: run \`custos --env-file ${DEMO_ENV_FILE} ${argv.filter((a) => !a.startsWith('--env-file')).join(' ')}\``
    + ' (new random keys could not read the demo\'s data)\n';
}
