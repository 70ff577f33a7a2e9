// Helpers every configuration module shares (bot/config.ts and its sections, config-*.ts), so a secret
// given as `NAME_FILE` and a zod refusal read the same whichever module owns the setting.
import { readFileSync } from 'node:fs';
import type { z } from 'zod';

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
