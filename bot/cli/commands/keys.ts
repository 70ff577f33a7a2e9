// `custos keys status` and `custos keys rotate`: master-key rotation of the per-customer data keys
// (bot/store/key-rotation.ts). Rotate by prepending the new key to CUSTOS_DATA_KEYS (`k2:NEW,k1:OLD`),
// running `keys rotate` until it reports 0 left under k1, then removing k1.
import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig, section } from '../../config.ts';
import { FieldCipher } from '../../store/crypto.ts';
import { connectDatabase, ensureIndexes } from '../../store/db.ts';
import { CustomerStore } from '../../store/customer-store.ts';
import { keyStatus, reindexCustomers, rotateKeys } from '../../store/key-rotation.ts';

function batchSize(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new InvalidArgumentError('expected a whole number from 1 to 10000');
  return n;
}

function statusLines(byKey: Record<string, number>, current: string, configured: readonly string[]): string {
  return Object.entries(byKey).map(([id, n]) => {
    const note = id === current ? ' (current: wraps new data keys)'
      : !configured.includes(id) ? ' (NOT in CUSTOS_DATA_KEYS: these customers cannot be read; add the key back)'
        : n === 0 ? ' (no customer left: may be removed from CUSTOS_DATA_KEYS)' : ' (still needed: run custos keys rotate)';
    return `  ${id}: ${n} customer(s)${note}\n`;
  }).join('');
}

async function withData<T>(fn: (ctx: { conn: Awaited<ReturnType<typeof connectDatabase>>; cipher: FieldCipher; keyIds: string[] }) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env, { require: ['mongo', 'crypto'] });
  const crypto = section(config, 'crypto');
  const conn = await connectDatabase(section(config, 'mongo'));
  try {
    await ensureIndexes(conn);
    return await fn({ conn, cipher: new FieldCipher(crypto), keyIds: crypto.dataKeys.map((k) => k.id) });
  } finally {
    await conn.close().catch(() => undefined);
  }
}

async function status(): Promise<void> {
  await withData(async ({ conn, cipher, keyIds }) => {
    process.stdout.write(`customers per master key:\n${statusLines(await keyStatus(conn, keyIds), cipher.currentKeyId, keyIds)}`);
  });
}

async function rotate(flags: { batch: number }): Promise<void> {
  await withData(async ({ conn, cipher, keyIds }) => {
    const started = Date.now();
    let lastReport = 0;
    const report = await rotateKeys(conn, cipher, {
      batchSize: flags.batch,
      onProgress: ({ rewrapped, remaining }) => {
        if (remaining === 0 || Date.now() - lastReport >= 1000 || process.env.CUSTOS_ROTATE_PROGRESS_EVERY_BATCH === '1') {
          lastReport = Date.now();
          process.stderr.write(`keys rotate: ${rewrapped} re-wrapped, ${remaining} left\n`);
        }
      },
    });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    process.stdout.write(`re-wrapped ${report.rewrapped} customer data key(s) under ${report.keyId} in ${seconds}s`
      + `${report.skipped ? ` (${report.skipped} changed meanwhile and were left to the next run)` : ''}\n`
      + `customers per master key:\n${statusLines(report.byKey, cipher.currentKeyId, keyIds)}`);
    if (Object.entries(report.byKey).some(([id, n]) => id !== report.keyId && n > 0)) process.exitCode = 1;
  });
}

async function reindex(flags: { batch: number }): Promise<void> {
  await withData(async ({ conn, cipher }) => {
    let lastReport = 0;
    const r = await reindexCustomers(new CustomerStore(conn, cipher), {
      batchSize: flags.batch,
      onProgress: ({ rewritten, unchanged }) => {
        if (Date.now() - lastReport >= 1000) {
          lastReport = Date.now();
          process.stderr.write(`keys reindex: ${rewritten} rewritten, ${unchanged} already current\n`);
        }
      },
    });
    process.stdout.write(`re-indexed: ${r.rewritten} customer(s) rewritten under the current blind-index and search-token keys, ${r.unchanged} already were\n`);
  });
}

export function register(program: Command): void {
  const keys = program.command('keys').description('master-key status and rotation of the per-customer data keys');
  keys.command('status')
    .description('how many customers each master key id still wraps')
    .addHelpText('after', `
Needs MONGODB_URI, CUSTOS_DATA_KEYS and CUSTOS_BLIND_INDEX_KEY. Prints, per master key id, how many
customers' data keys it wraps; a key with 0 customers may be removed from CUSTOS_DATA_KEYS.

Examples:
  $ custos keys status
`)
    .action(async () => { await status(); });
  keys.command('rotate')
    .description('re-wrap every customer data key under the first key of CUSTOS_DATA_KEYS (resumable)')
    .option('--batch <N>', 'customers read and re-wrapped per batch', batchSize, 500)
    .addHelpText('after', `
Needs MONGODB_URI, CUSTOS_DATA_KEYS (new key first, old keys after it) and CUSTOS_BLIND_INDEX_KEY.
Safe to interrupt at any point (even kill -9) and to run again: each customer switches keys in one
atomic update, and a new run continues with the customers still under an old key. Exits 1 if some are
left (e.g. changed meanwhile): run it again. When \`custos keys status\` shows 0 for an old key, remove it.

Examples:
  $ custos keys rotate                  # with CUSTOS_DATA_KEYS=k2:NEW,k1:OLD
  $ custos keys rotate --batch 200
`)
    .action(async (flags: { batch: number }) => { await rotate(flags); });
  keys.command('reindex')
    .description('rewrite every customer under the current CUSTOS_BLIND_INDEX_KEY and CUSTOS_SEARCH_TOKEN_KEY (resumable)')
    .option('--batch <N>', 'customers per write batch', batchSize, 500)
    .addHelpText('after', `
Needs MONGODB_URI, CUSTOS_DATA_KEYS and the NEW CUSTOS_BLIND_INDEX_KEY / CUSTOS_SEARCH_TOKEN_KEY. Run it
with the bot stopped: until a customer is rewritten, lookups under the new keys do not find it. Safe to
interrupt and run again: customers already under the current keys are left alone.

Examples:
  $ custos keys reindex
`)
    .action(async (flags: { batch: number }) => { await reindex(flags); });
}
