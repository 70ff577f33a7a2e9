// Helpers every configuration module shares (bot/config.ts and its sections, config-*.ts), so a secret
// given as `NAME_FILE` and a zod refusal read the same whichever module owns the setting.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { CustosError, ErrorCode } from './core/errors.ts';

/** An http(s) URL setting; its problem says what one looks like. */
export const httpUrl = (name: string, example: string) => z.url({ protocol: /^https?$/, error: `${name} must be an http(s) URL such as ${example}` });

/** localhost, 127.x.x.x or ::1 (as a host to listen on, or `[::1]` as a URL's hostname): nothing leaves the machine. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * A URL secrets travel over: https (to a host `host` accepts, any by default), or plain http to a
 * loopback host only (a local fake or proxy).
 */
export function secureOrLoopback(u: string, host: (hostname: string) => boolean = () => true): boolean {
  try {
    const url = new URL(u);
    return (url.protocol === 'https:' && host(url.hostname)) || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
  } catch { return false; }
}

/** A port to listen on (0: any free one), as a number. */
export const portNumber = (name: string) => {
  const problem = `${name} must be a port number (0-65535)`;
  // Digits only: a number coerced from the text would take `0x1F90`, `1e3`, and blanks as 0 (any free port).
  return z.union([z.string().trim().regex(/^\d{1,5}$/, problem).transform(Number), z.number().int(problem)], { error: problem })
    .pipe(z.number().min(0, problem).max(65535, problem));
};

/**
 * The content of the file `NAME_FILE` names, trimmed; undefined when it is not set, when `NAME` is set
 * too, or when the file cannot be read — the last two recorded in `problems` with how to fix them.
 * Empty values count as unset, as a shell `VAR=` usually means.
 */
export function readSettingFile(env: NodeJS.ProcessEnv, name: string, problems: string[]): string | undefined {
  const file = env[`${name}_FILE`];
  if (file === undefined || file === '') return undefined;
  if (env[name] !== undefined && env[name] !== '') {
    problems.push(`${name} and ${name}_FILE are both set; set only one of them`);
    return undefined;
  }
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    problems.push(`${name}_FILE points to ${file}, which cannot be read; fix the path or its permissions`);
    return undefined;
  }
}

/** One line per zod issue, each starting with the setting's name. */
export function zodProblems(error: z.ZodError, problems: string[]): void {
  for (const issue of error.issues) {
    const name = String(issue.path[0] ?? '');
    problems.push(issue.message.includes(name) ? issue.message : `${name}: ${issue.message}`);
  }
}

export interface EnvSection<S extends z.ZodType> {
  /** Every setting of the section starts with it (`DINGTALK_`). */
  prefix: string;
  /** The section's name in the error (`DingTalk`). */
  label: string;
  schema: S;
  /** Settings that may also come from `NAME_FILE` (secrets). */
  secrets?: readonly string[];
  /** Problems of settings taken together (two that go as a pair), from the raw values. */
  check?: (values: Record<string, string | undefined>) => string[];
}

/**
 * A platform's own section (issue 17: a platform module brings its config): its `PREFIX*` settings (`VAR=`
 * counts as unset), secrets also from `NAME_FILE`, parsed by the section's zod schema; throws one
 * CustosError(ConfigInvalid) listing every problem at once, one line each, as bot/config.ts does.
 */
export function parseEnvSection<S extends z.ZodType>(env: NodeJS.ProcessEnv, section: EnvSection<S>): z.output<S> {
  const problems: string[] = [];
  const values: Record<string, string | undefined> = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith(section.prefix) && v !== ''));
  for (const name of section.secrets ?? []) {
    const fromFile = readSettingFile(env, name, problems);
    if (fromFile !== undefined) values[name] = fromFile;
  }
  problems.push(...(section.check?.(values) ?? []));
  const parsed = section.schema.safeParse(values);
  if (!parsed.success) zodProblems(parsed.error, problems);
  if (problems.length > 0 || !parsed.success) {
    const unique = [...new Set(problems)];
    throw new CustosError(ErrorCode.ConfigInvalid,
      `invalid ${section.label} configuration (${unique.length} problem${unique.length === 1 ? '' : 's'}):\n${unique.map((p) => `  - ${p}`).join('\n')}`,
      { problems: unique });
  }
  return parsed.data;
}
