// `custos audit verify`: walks the whole audit chain (streamed) and its signed checkpoints. Prints
// "N events, chain intact" and exits 0, or names the first bad seq and what is wrong and exits 1.
import type { Command } from 'commander';
import mongoose from 'mongoose';
import { loadConfig, section } from '../../config.ts';
import { verifyAuditChain } from '../../core/audit-verify.ts';
import { auditModels } from '../../store/audit-model.ts';
import { allCheckpoints, streamRecords } from '../../store/audit-store.ts';

export const VERIFY_EXIT_BROKEN = 1;

async function verify(): Promise<void> {
  const config = loadConfig(process.env, { require: ['mongo', 'audit'] });
  const mongo = section(config, 'mongo');
  const conn = await mongoose.createConnection(mongo.uri, { dbName: mongo.db, autoIndex: false, serverSelectionTimeoutMS: 10_000 }).asPromise();
  try {
    const models = await auditModels(conn);
    const checkpoints = await allCheckpoints(models);
    const result = await verifyAuditChain(streamRecords(models), checkpoints, section(config, 'audit').signingKey);
    const cp = result.latestCheckpoint;
    // The latest checkpoint's signature, for operators to note down outside the database: a checkpoint
    // deleted together with the records it vouches for is only noticed against such an outside copy.
    const cpLine = cp ? `latest checkpoint #${cp.n} covers seq ${cp.lastSeq}, signature ${cp.sig}` : 'no checkpoints yet';
    if (result.ok) {
      process.stdout.write(`${result.events} events, chain intact\n${cpLine}\n`);
      return;
    }
    const p = result.problem!;
    process.stdout.write(`audit chain BROKEN at seq ${p.seq}: ${p.problem}\n${result.events} events verified before it; ${cpLine}\n`);
    process.exitCode = VERIFY_EXIT_BROKEN;
  } finally {
    await conn.close().catch(() => undefined);
  }
}

export function register(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit log');
  audit.command('verify')
    .description('walk the audit chain and its signed checkpoints; exit 0 if intact, 1 naming the first bad seq')
    .action(verify);
}
