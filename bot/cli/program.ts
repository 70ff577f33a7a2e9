// The `custos` command. Each subcommand lives in its own module under bot/cli/commands and registers
// itself on the program; only subcommands that work are registered. A run loads only the module of the
// command it runs (commands/index.ts), so `custos --help` starts in a fraction of a second.
import { Command, CommanderError } from 'commander';
import { isCustosError } from '../core/errors.ts';
import { commandFor, registerCommands } from './commands/index.ts';
import { addEnvFileOption, configErrorHint } from './env-file.ts';

/**
 * The program, with the command `argv` names loaded from its module (the others listed by summary), or,
 * without `argv`, with every command loaded (what tests walk).
 */
export async function buildProgram(argv?: readonly string[]): Promise<Command> {
  const program = new Command('custos')
    .description('custos: controlled customer lookups in Slack and Lark, with approvals and a tamper-evident audit log.\n'
      + 'Configuration comes from the environment (see README: Configuration).')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', `
Examples:
  custos demo                                  try it: local services, demo data, playground on http://127.0.0.1:3000
  custos seed --demo --customers 500           load the demo company into MONGODB_URI
  custos import customers customers.csv        load your own customers (all-or-nothing; --skip-invalid)
  custos policy check && custos policy test    validate the policies and run their test matrices
  custos policy explain --as zhang.wei@demo.custos.local --customer C-000001
  custos start                                 run the bot(s) and the workers (--only bot|worker|lark)
  custos audit verify                          check the audit chain and its signed checkpoints
  custos audit archive --before 2023-01-01     move events past the retention window to a signed bundle

Run \`custos <command> --help\` for the options of each command.`)
    .exitOverride();
  await registerCommands(program, argv === undefined ? undefined : (commandFor(argv) ?? null));
  addEnvFileOption(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    const program = await buildProgram(argv);
    await program.parseAsync(argv, { from: 'user' });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (isCustosError(err)) {
      process.stderr.write(`custos: ${err.message}\n${configErrorHint(err, argv)}`);
      return 1;
    }
    process.stderr.write(`custos: unexpected error: ${err instanceof Error ? err.stack : String(err)}\n`);
    return 1;
  }
}

