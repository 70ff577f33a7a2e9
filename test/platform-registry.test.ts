// The platform registry (bot/platforms.ts, bot/runtime/platform-registry.ts): an unknown or malformed
// platform id is refused with a message naming the registered ones; every registered module validates
// its own settings, reporting every problem at once, and accepts a complete set; and the routing built
// from modules reaches a person on the first registered platform they are bound to, updates a card only
// on the platform it was posted to. A table row per registered platform is required, so a platform
// added to the registry without one fails here.
import test from 'ava';
import fc from 'fast-check';
import type { ApprovalNotifier } from '../bot/core/approvals/service.ts';
import type { CardRef } from '../bot/core/approvals/types.ts';
import { loadConfig } from '../bot/config.ts';
import type { Employee } from '../bot/core/domain.ts';
import { CustosError, ErrorCode } from '../bot/core/errors.ts';
import { isPlatformId } from '../bot/core/platform-id.ts';
import type { ApprovalView } from '../bot/core/views-approval.ts';
import { createLogger } from '../bot/logger.ts';
import { PLATFORMS } from '../bot/platforms.ts';
import { PlatformChats, routedApprovalNotifier } from '../bot/runtime/chat-routing.ts';
import type { PlatformModule } from '../bot/runtime/platform-module.ts';
import { PlatformRegistry } from '../bot/runtime/platform-registry.ts';

const logger = createLogger({ level: 'silent' });

/** A complete settings set per registered platform, and a fragment of what it says when one is missing. */
const SAMPLE: Record<string, { env: Record<string, string>; missing: RegExp }> = {
  slack: { env: { SLACK_BOT_TOKEN: 'xoxb-1-2-abc', SLACK_SIGNING_SECRET: 's'.repeat(32) }, missing: /SLACK_BOT_TOKEN is required/ },
  lark: { env: { LARK_APP_ID: 'cli_a1b2c3d4', LARK_APP_SECRET: 's'.repeat(16), LARK_ENCRYPT_KEY: 'e'.repeat(16), LARK_VERIFICATION_TOKEN: 'v'.repeat(16) }, missing: /LARK_APP_ID is required/ },
  dingtalk: { env: { DINGTALK_APP_KEY: 'dingabcdefgh1234', DINGTALK_APP_SECRET: 's'.repeat(32), DINGTALK_CARD_TEMPLATE_ID: 'tmpl-1234.schema' }, missing: /DINGTALK_APP_KEY is required/ },
  wecom: { env: { WECOM_CORP_ID: 'ww0123456789abcdef', WECOM_AGENT_ID: '1000002', WECOM_SECRET: 's'.repeat(16), WECOM_TOKEN: 'tok123', WECOM_ENCODING_AES_KEY: 'A'.repeat(43) }, missing: /WECOM_CORP_ID is required/ },
};

test('every registered platform has a table row, a well-formed id and a test kit', (t) => {
  t.deepEqual(PLATFORMS.ids().sort(), Object.keys(SAMPLE).sort());
  for (const m of PLATFORMS.all()) {
    t.true(isPlatformId(m.id), m.id);
    t.true(m.testkit.length > 0, m.id);
  }
});

for (const m of PLATFORMS.all()) {
  test(`${m.id}: its settings are validated, every problem reported at once, and a complete set is accepted`, (t) => {
    const err = t.throws(() => m.settings({}), { instanceOf: CustosError });
    t.is(err!.code, ErrorCode.ConfigInvalid);
    t.regex(err!.message, SAMPLE[m.id]!.missing);
    t.notThrows(() => m.settings(SAMPLE[m.id]!.env));
    t.true(m.configured(SAMPLE[m.id]!.env));
    t.false(m.configured({}));
  });
}

test('an unknown or malformed platform id is refused with a message naming the registered ones', (t) => {
  const known = new Set(PLATFORMS.ids());
  fc.assert(fc.property(fc.oneof(fc.string(), fc.constantFrom('teams', 'SLACK', 'lark ', '', 'a.b', '$where', 'playground')), (id) => {
    fc.pre(!known.has(id));
    const err = t.throws(() => PLATFORMS.get(id), { instanceOf: CustosError });
    t.is(err!.code, ErrorCode.ConfigInvalid);
    t.true(err!.message.startsWith(`unknown chat platform "${id}"; registered platforms: ${PLATFORMS.ids().join(', ')}`));
    // The details (which reach logs) never carry a malformed id.
    t.is(err!.details.platform, isPlatformId(id) ? id : '(malformed)');
  }), { numRuns: 200 });
  for (const id of known) t.is(PLATFORMS.get(id).id, id);
});

test('a registry refuses a malformed id and a platform registered twice', (t) => {
  const m = fakeModule('teams', []);
  t.throws(() => new PlatformRegistry([fakeModule('Teams!', [])]), { message: /is not a platform id/ });
  t.throws(() => new PlatformRegistry([m, fakeModule('teams', [])]), { message: /registered twice/ });
});

/** A module whose approval notifier records what reaches it (a new platform plugs in this way). */
function fakeModule(id: string, calls: string[], configured = true): PlatformModule {
  const notifier: ApprovalNotifier = {
    async postCard(to, _view, role) { calls.push(`${id}:post:${to.employeeId}`); return { platform: id, channel: 'c', ts: 't', employeeId: to.employeeId, role }; },
    async updateCard(ref) { calls.push(`${id}:update:${ref.employeeId}`); },
    async tell(to) { calls.push(`${id}:tell:${to.employeeId}`); },
    async showReveal(request) { calls.push(`${id}:reveal:${request.requestId}`); },
  };
  return {
    id, requires: [], configured: () => configured, settings: () => ({}),
    start: async () => ({ close: async () => undefined }), chat: async () => ({ approvals: notifier }), testkit: ['test/platform-registry.test.ts'],
  };
}

test('routing: a person is reached on the first registered, configured platform they are bound to; a card is updated where it was posted', async (t) => {
  const config = loadConfig({ MONGODB_URI: 'mongodb://127.0.0.1:1/x' });
  const ids = ['alpha', 'beta', 'gamma', 'delta'];
  await fc.assert(fc.asyncProperty(
    fc.subarray(ids), fc.subarray(ids), fc.constantFrom(...ids, 'playground'),
    async (bound, configured, postedOn) => {
      const calls: string[] = [];
      const registry = new PlatformRegistry(ids.map((id) => fakeModule(id, calls, configured.includes(id))));
      const notifier = routedApprovalNotifier(new PlatformChats(config, logger, { registry, env: {} }));
      const e: Employee = {
        employeeId: 'E-0007', email: 'e7@example.com', name: 'E7', department: 'sales', roles: ['staff'], region: 'east',
        timezone: 'Asia/Shanghai', locale: 'en', status: 'active', external: false, chat: Object.fromEntries(bound.map((p) => [p, `u-${p}`])),
      };
      const ref = await notifier.postCard(e, {} as ApprovalView, 'approver');
      const first = ids.find((p) => bound.includes(p) && configured.includes(p));
      t.is(ref?.platform, first);
      t.deepEqual(calls, first ? [`${first}:post:${e.employeeId}`] : []);
      calls.length = 0;
      await notifier.updateCard({ platform: postedOn, channel: 'c', ts: 't', employeeId: e.employeeId, role: 'approver' } satisfies CardRef, {} as ApprovalView);
      t.deepEqual(calls, configured.includes(postedOn) ? [`${postedOn}:update:${e.employeeId}`] : []);
    },
  ), { numRuns: 100 });
});
