// `custos --help` and `custos <cmd> --help` must be enough for a newcomer: every runnable command,
// found by walking the real program (so a new command cannot skip this), answers --help with exit 0,
// examples to copy and, where it reads configuration, the settings it needs.
// Each command's help is produced by `main`, the function the binary runs, here in this process (the
// texts need no process of their own); `custos --help` and one command's help also run as real processes,
// which load only the module of the command asked for (bot/cli/commands/index.ts).
import test from 'ava';
import type { Command } from 'commander';
import { buildProgram } from '../bot/cli/program.ts';
import { COMMANDS } from '../bot/cli/commands/index.ts';
import { runCli, runCliHere } from './helpers/run-custos.ts';

function leaves(cmd: Command, prefix: string[] = []): string[][] {
  const subs = cmd.commands.filter((c) => c.name() !== 'help');
  if (subs.length === 0) return [prefix];
  return subs.flatMap((c) => leaves(c, [...prefix, c.name()]));
}

const program = await buildProgram();
const commands = leaves(program);

test('the program has the commands the README lists', (t) => {
  const names = commands.map((c) => c.join(' '));
  for (const c of ['demo', 'start', 'seed', 'import customers', 'import employees', 'policy check', 'policy test',
    'policy explain', 'audit verify', 'export trace']) t.true(names.includes(c), c);
});

test('the command list `custos --help` shows without loading a command module says what each module says', (t) => {
  t.deepEqual(COMMANDS.map((c) => [c.name, c.summary]), program.commands.filter((c) => c.name() !== 'help').map((c) => [c.name(), c.description()]));
});

for (const cmd of commands) {
  test.serial(`custos ${cmd.join(' ')} --help: exit 0, a usage line and examples`, async (t) => {
    const r = await runCliHere([...cmd, '--help']);
    t.is(r.code, 0, r.stderr);
    t.regex(r.stdout, new RegExp(`^Usage: custos ${cmd.join(' ')} `));
    t.regex(r.stdout, /\nExamples:\n {2}\$ custos /);
  });
}

test.serial('help names the settings a command needs, and the exit status', async (t) => {
  const expected: [string[], RegExp[]][] = [
    [['audit', 'verify'], [/MONGODB_URI/, /CUSTOS_AUDIT_SIGNING_KEY/, /exits 0/, /BROKEN at seq/]],
    [['policy', 'explain'], [/MONGODB_URI/, /CUSTOS_DATA_KEYS/, /never prints customer values/]],
    [['policy', 'check'], [/Needs no\s+database/, /status 1/]],
    [['policy', 'test'], [/Needs no database/, /exits 1/]],
    [['start'], [/REDIS_URL/, /SIGTERM/, /--only worker/, /\/readyz/]],
    [['export', 'trace'], [/CUSTOS_AUDIT_HMAC_KEY/, /exits 1/]],
  ];
  for (const [cmd, patterns] of expected) {
    const { stdout } = await runCliHere([...cmd, '--help']);
    for (const p of patterns) t.regex(stdout, p, `${cmd.join(' ')}: ${p}`);
  }
});

test.serial('custos --help lists every command with an example (a real process)', async (t) => {
  const r = await runCli(['--help'], {});
  t.is(r.code, 0);
  for (const c of ['demo', 'start', 'seed', 'import', 'policy', 'audit', 'export']) t.regex(r.stdout, new RegExp(`\\n {2}${c} `), c);
  t.regex(r.stdout, /Examples:/);
});

test.serial('a command\'s help as a real process is the text main produces, exit 0', async (t) => {
  const real = await runCli(['audit', 'verify', '--help'], {});
  t.is(real.code, 0, real.stderr);
  t.is(real.stdout, (await runCliHere(['audit', 'verify', '--help'])).stdout);
});

test.serial('custos help COMMAND and an unknown command, as real processes', async (t) => {
  const help = await runCli(['help', 'seed'], {});
  t.is(help.code, 0, help.stderr);
  t.regex(help.stdout, /^Usage: custos seed /);
  const unknown = await runCli(['bogus'], {});
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /unknown command 'bogus'/);
  t.is(unknown.stdout, '');
});
