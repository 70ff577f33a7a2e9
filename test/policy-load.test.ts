// The `policy.load` audit event (bot/runtime/policy-load.ts): built from the real policy directory it
// passes the audit schema's PII guard, and the compliance pack reads version and digests back from it.
// Digests are random-looking hex: a property checks that none is refused as a "long number".
import test from 'ava';
import fc from 'fast-check';
import { parseAuditEvent } from '../bot/core/audit-event.ts';
import { fileToken, policyLoadEvent, policyLoadFacts, recordPolicyLoad } from '../bot/runtime/policy-load.ts';
import { createLogger } from '../bot/logger.ts';
import { loadPolicy } from '../policies/index.ts';

const NOW = new Date('2026-11-20T09:00:00Z');

test('the event of the shipped policy is valid and gives back its version and file digests', (t) => {
  const policy = loadPolicy('policies');
  const event = parseAuditEvent(policyLoadEvent(policy, 'bot', NOW));
  t.is(event.action, 'policy.load');
  const facts = policyLoadFacts(event.ruleIds);
  t.is(facts.version, policy.version);
  t.deepEqual(facts.files.map((f) => f.sha256), policy.fileDigests!.map((d) => d.sha256));
  t.true(facts.files.every((f) => /^[0-9a-f]{64}$/.test(f.sha256) && f.file.endsWith('.yaml')));
});

test('any digest and version pass the PII guard (hex runs are opaque identifiers)', (t) => {
  const base = loadPolicy('policies');
  const hex = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });
  fc.assert(fc.property(hex(16), fc.array(fc.tuple(fc.stringMatching(/^[a-z0-9 ]{1,20}\.yaml$/), hex(64)), { minLength: 1, maxLength: 5 }), (version, files) => {
    // An all-digit run would be a "long number"; mixed runs are what hashing gives but for ~1e-13.
    fc.pre(/[a-f]/.test(version) && files.every(([, h]) => /[a-f]/.test(h)));
    const policy = { ...base, version, fileDigests: files.map(([file, sha256]) => ({ file, sha256 })) };
    const event = parseAuditEvent(policyLoadEvent(policy, 'bot', NOW));
    t.deepEqual(policyLoadFacts(event.ruleIds).files.map((f) => f.sha256), files.map(([, h]) => h));
  }), { numRuns: 300 });
});

test('a policy file named with a long number is recorded with its digits grouped, never refused by the PII guard', (t) => {
  const base = loadPolicy('policies');
  for (const [file, token] of [['2026120301.yaml', '20261203_01.yaml'], ['13800138000.yaml', '13800138_000.yaml'], ['policy-110101199003078515.yml', 'policy-11010119_90030785_15.yml'], ['v12345678.yaml', 'v12345678.yaml']] as const) {
    t.is(fileToken(file), token);
    const event = parseAuditEvent(policyLoadEvent({ ...base, fileDigests: [{ file, sha256: 'ab'.repeat(32) }] }, 'bot', NOW));
    t.deepEqual(policyLoadFacts(event.ruleIds).files, [{ file: token, sha256: 'ab'.repeat(32) }]);
  }
});

test('a queue that refuses is retried with the same event until it accepts', async (t) => {
  const seen: string[] = [];
  let failures = 2;
  let accepted: () => void = () => undefined;
  const done = new Promise<void>((resolve) => { accepted = resolve; });
  const recorder = { record: async (e: { eventId: string }) => { seen.push(e.eventId); if (failures-- > 0) throw new Error('down'); accepted(); } };
  const stop = await recordPolicyLoad(recorder, loadPolicy('policies'), 'bot', { now: () => NOW }, createLogger({ level: 'silent' }), 5);
  t.is(seen.length, 1, 'the first attempt is awaited');
  // The retry timer is unref'd (it must not keep a stopping bot alive): hold the test's process open.
  const hold = setInterval(() => undefined, 1000);
  await done;
  clearInterval(hold);
  stop();
  t.is(seen.length, 3, 'two refusals, then accepted; no attempt after that');
  t.is(new Set(seen).size, 1, 'every attempt is the same event (the log keeps it once)');
});
