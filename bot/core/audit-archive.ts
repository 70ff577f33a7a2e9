// Archive bundles of the audit chain, pure: the line format, the seal and the check of a bundle on its
// own (`custos audit verify --archive BUNDLE`). A bundle is JSON lines (gzip-compressed on disk):
//   1. a header: the seq range and where it continues from (the previous archive's closing checkpoint);
//   2. the records, in seq order, exactly as stored (dates as ISO strings: they hash the same);
//   3. the signed checkpoints in the range, the last one being the CLOSING checkpoint (at `lastSeq`);
//   4. the seal: the range, the closing checkpoint's number and hash, the SHA-256 of every line before
//      it, HMAC-signed under CUSTOS_AUDIT_SIGNING_KEY (the checkpoints' key, its own domain prefix).
// The check reads the lines twice (structure, then the chain through the same verifier as the live
// log), so memory stays constant whatever the bundle's size, and names the first problem specifically.
import { createHash, createHmac } from 'node:crypto';
import { anchorLine } from './audit-anchors.ts';
import { GENESIS_HASH, canonicalJSON, sameHex, type AuditCheckpoint } from './audit-event.ts';
import { verifyAuditChain } from './audit-verify.ts';

export const ARCHIVE_FORMAT = 'custos-audit-archive';

export interface ArchiveHeader {
  kind: typeof ARCHIVE_FORMAT;
  v: 1;
  firstSeq: number;
  lastSeq: number;
  /** The hash the first record links to: the previous archive's closing hash, or genesis. */
  prevHash: string;
  /** The previous archive's closing checkpoint (signed), where this range continues from; null from seq 1. */
  from: Record<string, unknown> | null;
  before: string;
  createdAt: string;
}

export interface ArchiveSeal {
  kind: 'seal';
  firstSeq: number;
  lastSeq: number;
  lastHash: string;
  checkpoint: number;
  events: number;
  /** SHA-256 (hex) of every line before the seal, each with its '\n'. */
  digest: string;
  sig: string;
}

export function sealSignature(signingKey: Buffer, seal: Omit<ArchiveSeal, 'sig'> | ArchiveSeal): string {
  const { sig: _s, ...rest } = seal as ArchiveSeal;
  return createHmac('sha256', signingKey).update(`custos-audit-archive:${canonicalJSON(rest)}`).digest('hex');
}

export const headerLine = (h: ArchiveHeader): string => canonicalJSON(h);
export const eventLine = (record: Record<string, unknown>): string => canonicalJSON({ kind: 'event', record });
export const checkpointLine = (cp: AuditCheckpoint): string => `{"checkpoint":${anchorLine(cp)},"kind":"checkpoint"}`;
export const sealLine = (seal: ArchiveSeal): string => canonicalJSON(seal);

/** Builds the lines' digest as they are written or read. */
export class LineDigest {
  private readonly h = createHash('sha256');
  add(line: string): void { this.h.update(`${line}\n`, 'utf8'); }
  hex(): string { return this.h.digest('hex'); }
}

export interface BundleCheck {
  ok: boolean;
  problem?: string;
  header?: ArchiveHeader;
  seal?: ArchiveSeal;
}

/** The lines of a bundle, as many times as asked (the check reads them twice). */
export type BundleLines = () => AsyncIterable<string>;

class BundleProblem extends Error {}
const fail = (msg: string): never => { throw new BundleProblem(msg); };

function parseLine(line: string, n: number): Record<string, unknown> {
  try {
    const v = JSON.parse(line) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch { /* named below */ }
  return fail(`line ${n} is not a JSON object: the bundle was altered or truncated`);
}

function asHeader(v: Record<string, unknown>): ArchiveHeader {
  const ok = v.kind === ARCHIVE_FORMAT && v.v === 1 && Number.isInteger(v.firstSeq) && Number.isInteger(v.lastSeq)
    && typeof v.prevHash === 'string' && (v.from === null || typeof v.from === 'object');
  return ok ? (v as unknown as ArchiveHeader) : fail('line 1 is not a custos audit archive header: not an archive bundle');
}

function asCheckpoint(v: Record<string, unknown>, n: number): AuditCheckpoint {
  const cp = v.checkpoint as Record<string, unknown> | undefined;
  if (!cp || !Number.isInteger(cp.n) || !Number.isInteger(cp.lastSeq) || typeof cp.sig !== 'string' || typeof cp.createdAt !== 'string') {
    return fail(`line ${n} is not a signed checkpoint`);
  }
  return { ...(cp as unknown as AuditCheckpoint), createdAt: new Date(cp.createdAt) };
}

interface Structure { header: ArchiveHeader; seal: ArchiveSeal; checkpoints: AuditCheckpoint[]; digest: string; events: number }

/**
 * First pass: the header, the events' order (a reordered, repeated or dropped record is named here, by
 * seq), the checkpoints, and the seal as the very last line.
 */
async function structure(lines: AsyncIterable<string>): Promise<Structure> {
  const digest = new LineDigest();
  let header: ArchiveHeader | null = null;
  let seal: ArchiveSeal | null = null;
  const checkpoints: AuditCheckpoint[] = [];
  let lastSeq = 0;
  let events = 0;
  let n = 0;
  let gap: string | null = null;
  for await (const line of lines) {
    n++;
    if (line === '' ) continue;
    if (seal) fail(`line ${n} follows the seal: lines were appended to the bundle`);
    const v = parseLine(line, n);
    if (n === 1) { header = asHeader(v); lastSeq = header.firstSeq - 1; digest.add(line); continue; }
    if (v.kind === 'seal') { seal = v as unknown as ArchiveSeal; continue; }
    digest.add(line);
    if (v.kind === 'checkpoint') { checkpoints.push(asCheckpoint(v, n)); continue; }
    if (v.kind !== 'event' || !v.record || typeof v.record !== 'object') fail(`line ${n} is neither an event, a checkpoint nor the seal`);
    if (checkpoints.length > 0) fail(`line ${n}: an event after the checkpoints: the bundle was reordered`);
    const seq = Number((v.record as Record<string, unknown>).seq);
    if (seq <= lastSeq) fail(`seq ${seq} comes after seq ${lastSeq}: the events were reordered (or one repeated)`);
    // A gap is a drop only if the missing seq does not turn up later (then it was moved: reordered).
    if (seq > lastSeq + 1 && !gap) gap = `seq ${lastSeq + 1} is missing (the next event is seq ${seq}): an event was dropped`;
    lastSeq = seq;
    events++;
  }
  if (gap) fail(gap);
  if (!header) return fail('the bundle is empty');
  if (!seal) return fail('the bundle has no seal as its last line: it was truncated');
  if (lastSeq !== header.lastSeq) fail(`the events end at seq ${lastSeq} but the header says ${header.lastSeq}: events were dropped from the end`);
  return { header, seal, checkpoints, digest: digest.hex(), events };
}

async function* eventsOf(lines: AsyncIterable<string>): AsyncIterable<Record<string, unknown>> {
  for await (const line of lines) {
    if (!line.startsWith('{"kind":"event"')) continue;
    yield (JSON.parse(line) as { record: Record<string, unknown> }).record;
  }
}

/** The header's `from` checkpoint, checked like any other by the chain verifier. */
function fromCheckpoint(header: ArchiveHeader): AuditCheckpoint | null {
  if (!header.from) return null;
  const f = header.from;
  return { ...(f as unknown as AuditCheckpoint), createdAt: new Date(String(f.createdAt)) };
}

async function check(read: BundleLines, signingKey: Buffer): Promise<Omit<BundleCheck, 'ok'>> {
  const s = await structure(read());
  const { header, seal } = s;
  if (!sameHex(seal.sig, sealSignature(signingKey, seal))) {
    fail('the seal\'s signature does not verify under CUSTOS_AUDIT_SIGNING_KEY: the bundle was re-signed with another key or its seal altered');
  }
  if (seal.firstSeq !== header.firstSeq || seal.lastSeq !== header.lastSeq || seal.events !== s.events) {
    fail(`the seal covers seq ${seal.firstSeq}-${seal.lastSeq} (${seal.events} events) but the bundle holds seq ${header.firstSeq}-${header.lastSeq} (${s.events})`);
  }
  const closing = s.checkpoints.at(-1);
  if (!closing || closing.n !== seal.checkpoint || closing.lastSeq !== seal.lastSeq || closing.lastHash !== seal.lastHash) {
    fail(`the bundle does not end with its closing checkpoint #${seal.checkpoint} at seq ${seal.lastSeq}`);
  }
  const from = fromCheckpoint(header);
  if ((from?.lastHash ?? GENESIS_HASH) !== header.prevHash || (from?.lastSeq ?? 0) !== header.firstSeq - 1) {
    fail('the header\'s starting checkpoint does not match where its events begin');
  }
  const result = await verifyAuditChain(eventsOf(read()), [...(from ? [from] : []), ...s.checkpoints], signingKey, from ? { fromCheckpoint: from.n } : {});
  if (!result.ok) fail(`seq ${result.problem!.seq}: ${result.problem!.problem}`);
  if (s.digest !== seal.digest) fail('the lines differ from what was sealed (digest mismatch): the bundle was altered');
  return { header, seal };
}

/**
 * Checks a bundle alone: readable, well-ordered, signed with the signing key, every record's hash and
 * MAC, the links from the starting checkpoint, the checkpoints' signatures, the closing checkpoint at
 * the last record, and the seal's digest over every line. The first problem is named.
 */
export async function checkBundle(read: BundleLines, signingKey: Buffer): Promise<BundleCheck> {
  try {
    return { ok: true, ...(await check(read, signingKey)) };
  } catch (err) {
    if (err instanceof BundleProblem) return { ok: false, problem: err.message };
    throw err;
  }
}
