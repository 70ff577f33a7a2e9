// One line per subcommand module. Keep this list sorted; each module exports `register(program)`.
// Modules are imported only when their command is run or its help is asked for (program.ts): each pulls
// in its own dependencies (mongoose, bullmq, Bolt, the Lark SDK), and `custos --help` or `custos policy
// check` should not pay for all of them. `summary` is the line `custos --help` lists the command with;
// it must equal the module's own description (test/cli-help.test.ts checks).
import type { Command } from 'commander';

export interface CommandModule { register(program: Command): void }

export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<CommandModule>;
}

export const COMMANDS: readonly CommandEntry[] = [
  { name: 'audit', summary: 'the tamper-evident audit log', load: () => import('./audit.ts') },
  { name: 'customer', summary: 'act on one customer record (erasure on request)', load: () => import('./customer.ts') },
  { name: 'demo', summary: 'run a self-contained demo: local services, the demo company, the audit worker and the local playground', load: () => import('./demo.ts') },
  { name: 'export', summary: 'approved exports', load: () => import('./export.ts') },
  { name: 'import', summary: 'load customers or employees from a CSV or JSON Lines file (idempotent upsert by id)', load: () => import('./import.ts') },
  { name: 'keys', summary: 'master-key status and rotation of the per-customer data keys', load: () => import('./keys.ts') },
  { name: 'policy', summary: 'validate, test and explain access policies', load: () => import('./policy.ts') },
  { name: 'report', summary: 'reports for the DPO: one customer\'s accesses, the disclosure register, the compliance pack', load: () => import('./report.ts') },
  { name: 'seed', summary: 'load a deterministic demo company (staff + customers) into the configured database', load: () => import('./seed.ts') },
  { name: 'start', summary: 'run custos (the chat bot and the background workers) until SIGTERM', load: () => import('./start.ts') },
  { name: 'sync', summary: 'keep customers in step with a CRM (Salesforce, 简道云, pushed systems)', load: () => import('./sync.ts') },
];

/**
 * The entry `argv` runs or asks help for (`custos NAME …`, `custos help NAME`), or none: then the
 * program needs only the list of commands (`custos --help`, an unknown command).
 */
export function commandFor(argv: readonly string[]): CommandEntry | undefined {
  // The first word naming a command is the command: global options and their values (`--env-file FILE`)
  // may stand before it, and none of them is a command's name.
  const operands = argv.filter((a) => !a.startsWith('-'));
  const at = operands.findIndex((a) => a === 'help' || COMMANDS.some((c) => c.name === a));
  const name = operands[at] === 'help' ? operands[at + 1] : operands[at];
  return COMMANDS.find((c) => c.name === name);
}

/**
 * Registers `only` (or every command, when `only` is undefined) from its module, and the others as
 * entries that just list their summary.
 */
export async function registerCommands(program: Command, only?: CommandEntry | null): Promise<void> {
  for (const entry of COMMANDS) {
    if (only === undefined || only === entry) (await entry.load()).register(program);
    else program.command(entry.name).description(entry.summary);
  }
}
