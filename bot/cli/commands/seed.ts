// `custos seed --demo [--customers N] [--seed S]`: loads the demo company into the configured database.
import { InvalidArgumentError, type Command } from 'commander';
import { openDataStores } from '../../store/open.ts';
import { DEFAULT_DEMO_CUSTOMERS, DEFAULT_DEMO_SEED, seedDemo } from '../../store/seed.ts';
import type { UpsertCounts } from '../../store/customer-store.ts';

interface SeedFlags { demo?: boolean; customers: number; seed: string }

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 10_000_000) throw new InvalidArgumentError('expected a whole number from 0 to 10000000');
  return n;
}

const counts = (c: UpsertCounts) => `${c.inserted} inserted, ${c.updated} updated, ${c.unchanged} unchanged`;

async function run(flags: SeedFlags, cmd: Command): Promise<void> {
  if (!flags.demo) cmd.error('custos seed: only demo data can be seeded; run `custos seed --demo` (see --help)', { exitCode: 2 });
  const stores = await openDataStores();
  try {
    let lastReport = 0;
    const result = await seedDemo(stores.conn, stores.cipher, {
      customers: flags.customers,
      seed: flags.seed,
      onProgress: (done, total) => {
        if (total >= 10_000 && (done === total || Date.now() - lastReport > 2000)) {
          lastReport = Date.now();
          process.stderr.write(`seed: ${done}/${total} customers\n`);
        }
      },
    });
    process.stdout.write(`seeded the demo company (seed "${result.seed}")\n`
      + `  employees: ${counts(result.employees)}\n`
      + `  customers: ${counts(result.customers)}\n`);
  } finally {
    await stores.close();
  }
}

export function register(program: Command): void {
  program.command('seed')
    .description('load a deterministic demo company (staff + customers) into the configured database')
    .option('--demo', 'seed the demo company (required: the only kind of seed there is)')
    .option('--customers <N>', 'number of demo customers', positiveInt, DEFAULT_DEMO_CUSTOMERS)
    .option('--seed <S>', 'seed text: the same seed always gives the same customers', DEFAULT_DEMO_SEED)
    .addHelpText('after', `
Needs MONGODB_URI (and MONGODB_DB), CUSTOS_DATA_KEYS and CUSTOS_BLIND_INDEX_KEY; see README: Configuration.

The staff table is fixed: every department (sales, marketing, support, orders, finance, legal) has a head,
a lead and staff, plus an admin, an auditor, a DPO and two external guests; e-mails end in
@demo.custos.local (e.g. zhang.wei@demo.custos.local is the sales rep E-0012). Customers C-000001… are
generated from the seed. Seeding again with the same seed changes nothing; a different seed replaces
the customers' content.

Examples:
  $ custos seed --demo                          # 2,000 customers, default seed
  $ custos seed --demo --customers 200 --seed demo-1
`)
    .action(run);
}
