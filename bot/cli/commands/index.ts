// One line per subcommand module. Keep this list sorted; each module exports `register(program)`.
import type { Command } from 'commander';
import { register as audit } from './audit.ts';
import { register as demo } from './demo.ts';
import { register as exportCmd } from './export.ts';
import { register as importData } from './import.ts';
import { register as policy } from './policy.ts';
import { register as seed } from './seed.ts';
import { register as start } from './start.ts';

type Registrar = (program: Command) => void;

const registrars: Registrar[] = [
  audit,
  demo,
  exportCmd,
  importData,
  policy,
  seed,
  start,
];

export function registerCommands(program: Command): void {
  for (const register of registrars) register(program);
}
