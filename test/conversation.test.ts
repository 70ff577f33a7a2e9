// The conversation layer (issue 17, stage a): one codec for card actions, and one pipeline that
// identifies, records refusals, resolves locale, channel kind and audience for every platform. Real
// employee store (FerretDB), real audit queue (Redis, read back from BullMQ), real lookup service; the
// port is the only stand-in — it is the platform, answering from the tables each test sets.
import test from 'ava';
import fc from 'fast-check';
import { Queue } from 'bullmq';
import type { Connection } from 'mongoose';
import type { AuditEventInput } from '../bot/core/audit.ts';
import { FIELD_GROUP_NAMES, type Employee } from '../bot/core/domain.ts';
import { mostRestrictedPrincipal, principalOf } from '../bot/core/identity.ts';
import { LookupService } from '../bot/core/lookup.ts';
import { t as tr } from '../bot/core/messages.ts';
import type { Clock } from '../bot/core/ports.ts';
import { REFUSED_INTERACTIONS } from '../bot/core/refusals.ts';
import { applyDecision } from '../bot/core/view.ts';
import type { View } from '../bot/core/views.ts';
import { ACTION_NAMES, decodeAction, decodeForm, encodeAction, interactionOf, type Action, type ActionName } from '../bot/conversation/codec.ts';
import { Conversation } from '../bot/conversation/layer.ts';
import { TurnPeople } from '../bot/conversation/people.ts';
import type { ConversationPort, PlatformId, ReplyKind, Turn } from '../bot/conversation/types.ts';
import { createLogger } from '../bot/logger.ts';
import { AUDIT_QUEUE, createAuditProducer, eventsOfJob, type AuditJobData } from '../bot/queue/audit-producer.ts';
import { FieldCipher } from '../bot/store/crypto.ts';
import { CustomerStore } from '../bot/store/customer-store.ts';
import { ensureIndexes } from '../bot/store/db.ts';
import { demoEmployees } from '../bot/store/demo-company.ts';
import { EmployeeStore } from '../bot/store/employee-store.ts';
import { createPolicyEngine, loadPolicy } from '../policies/index.ts';
import { dropPrefix, randomKey, requireEnv, testDatabase, testRedis, uniqueName } from './helpers/services.ts';
import type { ChannelKind } from '../policies/types.ts';

const prefix = uniqueName(import.meta.url, 'prefix');
const producer = createAuditProducer({ redis: requireEnv('REDIS_URL'), prefix, timeoutMs: 2000 });
const queueRedis = testRedis();
const queue = new Queue<AuditJobData>(AUDIT_QUEUE, { connection: queueRedis, prefix });
let now = new Date('2026-03-02T02:00:00Z');
const clock: Clock = { now: () => now };
const people = demoEmployees();
let db: Awaited<ReturnType<typeof testDatabase>>;
let directory: EmployeeStore;
let layer: Conversation;

// Slack ids of the people the tests use; `stranger` is in nobody's directory.
const SLACK: Record<string, string> = { salesRep: 'U0REP', supportAgent: 'U0SUPPORT', salesLeadEast: 'U0LEAD', gone: 'U0GONE', frozen: 'U0FROZEN' };

test.before(async () => {
  db = await testDatabase(import.meta.url);
  await ensureIndexes(db.conn as Connection);
  directory = new EmployeeStore(db.conn);
  const rows: Employee[] = Object.values(people).map((e) => ({ ...e }));
  const byKey = Object.fromEntries(rows.map((e, i) => [Object.keys(people)[i]!, e]));
  byKey.salesRep!.chat = { slack: SLACK.salesRep! };
  byKey.salesLeadEast!.chat = { slack: SLACK.salesLeadEast! };
  byKey.guestPartner!.status = 'offboarded';
  byKey.guestPartner!.chat = { slack: SLACK.gone! };
  byKey.guestConsultant!.status = 'frozen';
  byKey.guestConsultant!.chat = { slack: SLACK.frozen! };
  await directory.upsertMany(rows);
  const customers = new CustomerStore(db.conn, new FieldCipher({ dataKeys: [{ id: 'k1', key: Buffer.from(randomKey(), 'base64') }], blindIndexKey: Buffer.from(randomKey(), 'base64') }));
  const lookup = new LookupService({
    engine: createPolicyEngine(loadPolicy('policies')), customers, recorder: producer, present: applyDecision, clock, queryHmacKey: Buffer.alloc(32, 7),
  });
  await producer.ready(60_000);
  layer = new Conversation({
    lookup, directory, refusals: { recorder: producer, clock }, defaultLocale: 'zh-CN', securityContact: 'security@example.com',
    logger: createLogger({ level: 'silent' }),
  });
});

test.after.always(async () => {
  await queue.close();
  queueRedis.disconnect();
  await producer.close();
  await db?.drop();
  await dropPrefix(prefix);
});

/** A platform as the layer sees it: profiles, conversations and what was replied, from tables. */
class TablePort implements ConversationPort {
  readonly replies: { to: 'you' | 'conversation'; view: View; kind?: ReplyKind }[] = [];
  kindAsked = 0;
  constructor(
    readonly identity: 'chat' | 'picked',
    private readonly tables: { profiles?: Record<string, { email?: string; locale?: string }>; kinds?: Record<string, ChannelKind>; members?: Record<string, string[]> } = {},
    readonly botUserId?: string,
  ) {}

  profile(userId: string) { return Promise.resolve(this.tables.profiles?.[userId] ?? {}); }
  conversationKind(id: string) {
    this.kindAsked++;
    const kind = this.tables.kinds?.[id];
    return kind ? Promise.resolve(kind) : Promise.reject(new Error('channel_not_found'));
  }
  members(id: string) { return Promise.resolve(this.tables.members?.[id] ?? []); }
  async replyPrivately(view: View, kind: ReplyKind) { this.replies.push({ to: 'you', view, kind }); }
  async replyInConversation(view: View) { this.replies.push({ to: 'conversation', view }); }
}

let turns = 0;
function turn(platform: PlatformId, userId: string, extra: Partial<Turn> = {}): Turn {
  return { platform, userId, conversationId: 'C0CHAN', correlationId: `cv-${++turns}`, ...extra };
}

async function recorded(correlationId: string): Promise<AuditEventInput[]> {
  const jobs = await queue.getJobs(['waiting', 'delayed', 'active', 'completed']);
  return jobs.flatMap((j) => eventsOfJob(j.data) as AuditEventInput[]).filter((e) => e.correlationId === correlationId);
}

function textOf(view: View | undefined): string {
  return view && view.kind === 'notice' ? view.text : '';
}

// ---- the codec -------------------------------------------------------------------------------------

const digits = (min: number, max: number) => fc.stringMatching(new RegExp(`^\\d{${min},${max}}$`));
const arbAction: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ name: fc.constantFrom('pick' as const, 'share' as const, 'access' as const), customerId: digits(1, 12).map((d) => `C-${d}`) }),
  fc.record({ name: fc.constant('reveal' as const), customerId: digits(1, 12).map((d) => `C-${d}`), field: fc.stringMatching(/^[a-zA-Z]{1,32}$/) }),
  fc.record({ name: fc.constantFrom('approve' as const, 'deny' as const, 'cancel' as const), requestId: fc.stringMatching(/^[A-P]{10}$/).map((s) => `R-${s}`) }),
  fc.record({ name: fc.constantFrom('review_keep' as const, 'review_revoke' as const), reviewId: fc.tuple(digits(8, 8), fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/)).map(([d, s]) => `RV-${d}.${s}`) }),
  fc.record({ name: fc.constantFrom('security_unfreeze' as const, 'security_keep' as const, 'security_revoke' as const), employeeId: digits(1, 10).map((d) => `E-${d}`) }),
  fc.record({ name: fc.constantFrom('audit_page' as const, 'audit_export' as const), token: fc.stringMatching(/^[A-Za-z0-9_-]{1,200}$/) }),
);

test('every action value round-trips through the codec, by its name and by the wire ids platforms use', (t) => {
  const wire: Partial<Record<ActionName, string[]>> = {
    pick: ['customer_pick'], share: ['customer_share'], reveal: ['approval_reveal', 'approval_reveal:3'], access: ['approval_access:0'],
    approve: ['approval_approve'], deny: ['approval_deny'], cancel: ['approval_cancel'],
    security_unfreeze: ['sec_unfreeze'], security_keep: ['sec_keep'], security_revoke: ['sec_revoke'], audit_page: ['audit_older', 'audit_newer'],
  };
  fc.assert(fc.property(arbAction, (action) => {
    const value = encodeAction(action);
    for (const id of [action.name, ...(wire[action.name] ?? [])]) {
      const d = decodeAction(id, value);
      if (!d.ok) return false;
      t.deepEqual(d.action, action);
      t.is(d.interaction, interactionOf(action.name));
    }
    return true;
  }), { numRuns: 300 });
});

test('a decoded value is canonical: whatever the codec accepts, it would have written byte for byte', (t) => {
  fc.assert(fc.property(fc.constantFrom(...ACTION_NAMES), fc.oneof(fc.string({ maxLength: 80 }), fc.json({ maxDepth: 2 }), arbAction.map(encodeAction)), (name, value) => {
    const d = decodeAction(name, value);
    if (d.ok) t.is(encodeAction(d.action), value);
    else t.is(d.reason, 'malformed');
  }), { numRuns: 500 });
});

test('a tampered value of a valid action is refused as malformed; an id never rendered is an unknown action', (t) => {
  const tamper = fc.constantFrom('"', ' ', '\n', '<', '{', '\u0000', 'é', '..');
  fc.assert(fc.property(arbAction, tamper, fc.nat(), (action, bad, at) => {
    const value = encodeAction(action);
    const i = at % (value.length + 1);
    const tampered = value.slice(0, i) + bad + value.slice(i);
    const d = decodeAction(action.name, tampered);
    t.false(d.ok, tampered);
    t.false(decodeAction(action.name, value + 'x'.repeat(2001)).ok, 'over-long values are refused unread');
  }), { numRuns: 300 });
  fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 30 }).filter((s) => !(ACTION_NAMES as string[]).includes(s.replace(/:\d{1,3}$/, ''))), (id) => {
    const d = decodeAction(id, 'C-000001');
    t.true(!d.ok && (d.reason === 'unknown_action' || d.interaction !== 'menu'));
  }));
  t.deepEqual(decodeAction('drop_tables', 'C-1'), { ok: false, reason: 'unknown_action', interaction: 'menu' });
});

test('one schema per form: shape and limits, unknown inputs and field groups refused', (t) => {
  t.deepEqual(decodeForm('request', { purpose: 'renewal call', duration: '60', groups: ['contact'] }), { purpose: 'renewal call', duration: '60', groups: ['contact'] });
  t.deepEqual(decodeForm('request', { purpose: 'p', duration: '' }), { purpose: 'p', duration: '', groups: [] });
  t.is(decodeForm('request', { purpose: 'p', duration: '60', groups: ['passwords'] }), null);
  t.is(decodeForm('request', { purpose: 'p', duration: '60', extra: 1 }), null);
  t.is(decodeForm('request', { purpose: 'x'.repeat(2001), duration: '60' }), null);
  t.deepEqual(decodeForm('deny', { reason: 'not needed' }), { reason: 'not needed' });
  t.is(decodeForm('deny', { reason: 7 }), null);
  t.is(decodeForm('deny', 'reason'), null);
});

test('a form reads its inputs the same from every platform: numbers, lists and empty inputs as each sends them', (t) => {
  const none = { purpose: '', duration: '', groups: [] };
  const TABLE: [string, unknown, unknown][] = [
    ['a number input\'s number (DingTalk)', { purpose: 'p', duration: 60 }, { purpose: 'p', duration: '60', groups: [] }],
    ['a fraction as typed, for the service to refuse', { purpose: 'p', duration: 1.5 }, { purpose: 'p', duration: '1.5', groups: [] }],
    ['picks as one comma-separated string (DingTalk)', { purpose: 'p', duration: '30', groups: 'contact, identity' }, { purpose: 'p', duration: '30', groups: ['contact', 'identity'] }],
    ['no pick as an empty string', { purpose: 'p', duration: '30', groups: '' }, { purpose: 'p', duration: '30', groups: [] }],
    ['inputs left empty, left out (DingTalk, Lark)', {}, none],
    ['inputs left empty, as null (Slack)', { purpose: null, duration: null, groups: null }, none],
    ['a text input is words, never a number', { purpose: 7, duration: '60' }, null],
    ['a duration that is no number', { purpose: 'p', duration: Number.NaN }, null],
    ['a picked string naming a group that does not exist', { purpose: 'p', duration: '60', groups: 'contact,passwords' }, null],
    ['a list that is not of strings', { purpose: 'p', duration: '60', groups: [1] }, null],
  ];
  for (const [what, raw, want] of TABLE) t.deepEqual(decodeForm('request', raw), want, what);
  t.deepEqual(decodeForm('deny', {}), { reason: '' }, 'a reason left out is empty (refused by the service as missing)');
  t.deepEqual(decodeForm('deny', { reason: null }), { reason: '' });
  // However a platform sends a duration and picks, the form reads the same.
  fc.assert(fc.property(fc.nat({ max: 9_999_999 }), fc.subarray(FIELD_GROUP_NAMES), fc.string({ maxLength: 50 }), (minutes, groups, purpose) => {
    const listed = decodeForm('request', { purpose, duration: String(minutes), groups });
    t.deepEqual(decodeForm('request', { purpose, duration: minutes, groups: groups.join(',') }), listed);
    t.deepEqual(listed, { purpose, duration: String(minutes), groups });
  }));
});

// ---- the pipeline ----------------------------------------------------------------------------------

test.serial('any tampered click is refused before anyone is identified, recorded with who, why and what, on every platform', async (t) => {
  await fc.assert(fc.asyncProperty(
    arbAction, fc.constantFrom('"', '<', '{'), fc.constantFrom<[PlatformId, string, 'chat' | 'picked', string | null]>(
      ['slack', SLACK.salesRep!, 'chat', people.salesRep.employeeId], ['slack', 'U0STRANGER', 'chat', null],
      ['playground', people.supportAgent.employeeId, 'picked', people.supportAgent.employeeId],
    ),
    async (action, bad, [platform, userId, identity, employeeId]) => {
      const port = new TablePort(identity);
      const tr0 = turn(platform, userId);
      const handled = await layer.click(tr0, action.name, `${bad}${encodeAction(action)}`, port);
      t.true(handled.failed);
      const [event, ...more] = await recorded(tr0.correlationId);
      t.is(more.length, 0, 'one record per refused click');
      t.like(event, { decision: 'denied', reasonCode: 'malformed', actor: { employeeId, platform, platformUserId: userId }, meta: { interaction: interactionOf(action.name) } });
      t.is(port.replies.length, 1);
      t.is(port.replies[0]!.kind, 'failure');
      t.true(port.replies[0]!.view.kind === 'notice' && port.replies[0]!.view.tone === 'refusal');
      t.is(await directory.byChatId('slack', 'U0STRANGER'), null, 'nobody is bound by a refused click');
    },
  ), { numRuns: 25 });
});

test.serial('identity refusals are recorded on every interaction, for unknown, offboarded and frozen users, on every platform', async (t) => {
  const users: [PlatformId, string, 'chat' | 'picked', string, string | null][] = [
    ['slack', 'U0STRANGER', 'chat', 'custos_employee_unknown', null],
    ['slack', SLACK.gone!, 'chat', 'custos_employee_offboarded', people.guestPartner.employeeId],
    ['lark', 'ou_stranger', 'chat', 'custos_employee_unknown', null],
    ['slack', SLACK.frozen!, 'chat', 'custos_employee_frozen', people.guestConsultant.employeeId],
    ['playground', 'E-9999', 'picked', 'custos_employee_unknown', null],
    ['playground', people.guestPartner.employeeId, 'picked', 'custos_employee_offboarded', people.guestPartner.employeeId],
  ];
  for (const [platform, userId, identity, code, employeeId] of users) {
    for (const interaction of REFUSED_INTERACTIONS) {
      const tr0 = turn(platform, userId);
      const who = await layer.identify(tr0, new TablePort(identity), { interaction, requestId: 'R-ABCDEFGHIJ' });
      t.false(who.ok);
      const [event] = await recorded(tr0.correlationId);
      t.like(event, {
        action: interaction === 'lookup' ? 'lookup.refused' : 'interaction.refused', reasonCode: code, requestId: 'R-ABCDEFGHIJ',
        actor: { platform, platformUserId: userId, employeeId }, meta: { interaction },
      }, `${platform} ${userId} ${interaction}`);
    }
  }
  // The click paths through the layer: Slack's Pick and Share by an offboarded user.
  for (const [wire, action] of [['customer_pick', 'lookup.refused'], ['customer_share', 'interaction.refused']] as const) {
    const tr0 = turn('slack', SLACK.gone!);
    const port = new TablePort('chat');
    await layer.click(tr0, wire, 'C-000001', port);
    t.like((await recorded(tr0.correlationId))[0], { action, reasonCode: 'custos_employee_offboarded' });
    t.true(port.replies[0]?.view.kind === 'notice' && port.replies[0].view.tone === 'refusal', 'the refusal is answered as one');
    t.is(port.replies[0]?.kind, 'failure');
  }
});

test.serial('a refusal is explained in the locale the platform gives an unknown user; a known user in their own', async (t) => {
  const port = new TablePort('chat', { profiles: { U0EN: { locale: 'en-US' }, U0ZH: { locale: 'zh-CN' } } });
  for (const [user, locale] of [['U0EN', 'en'], ['U0ZH', 'zh-CN'], ['U0NONE', 'zh-CN']] as const) {
    const tr0 = turn('slack', user);
    const handled = await layer.text(tr0, 'C-000001', port);
    t.is(handled.locale, locale);
    t.like((await recorded(tr0.correlationId))[0], { action: 'lookup.refused', reasonCode: 'custos_employee_unknown' });
  }
  const help = new TablePort('chat');
  t.like(await layer.text(turn('slack', SLACK.salesRep!), 'help', help), { command: 'help', locale: 'zh-CN', failed: false });
  const usage = new TablePort('picked');
  t.like(await layer.text(turn('playground', people.guestPartner.employeeId), '??', usage), { command: 'usage', locale: 'en', failed: false });
  t.is(usage.replies[0]?.view.kind === 'notice' && usage.replies[0].view.tone, 'refusal');
});

test.serial('a user the platform describes by e-mail is matched once and bound; a lookup then reaches the real service', async (t) => {
  const port = new TablePort('chat', { profiles: { U0NEWSUP: { email: people.supportAgent.email.toUpperCase() } }, kinds: { C0CHAN: 'private' } });
  const tr0 = turn('slack', 'U0NEWSUP');
  const handled = await layer.click(tr0, 'customer_pick', 'C-000404', port);
  t.like(handled, { command: 'pick', failed: false });
  t.is((await directory.byId(people.supportAgent.employeeId))?.chat.slack, 'U0NEWSUP');
  t.is(port.replies[0]?.kind, 'answer');
  // The service searched (there are no customers here) and recorded the search before reading, as the asker, in the channel's kind.
  t.like((await recorded(tr0.correlationId))[0], { action: 'lookup', channelKind: 'private', actor: { employeeId: people.supportAgent.employeeId, platform: 'slack', platformUserId: 'U0NEWSUP' } });
});

test.serial('the channel kind: the payload\'s when it says, else the platform\'s (cached), else the strictest the payload allows', async (t) => {
  const port = new TablePort('chat', { kinds: { C0PUB: 'public' } });
  t.is(await layer.channelKind(turn('slack', 'U', { conversationId: 'C0PUB', kind: 'dm' }), port), 'dm');
  t.is(port.kindAsked, 0);
  t.is(await layer.channelKind(turn('slack', 'U', { conversationId: 'C0PUB' }), port), 'public');
  t.is(await layer.channelKind(turn('slack', 'U', { conversationId: 'C0PUB' }), port), 'public');
  t.is(port.kindAsked, 1, 'cached');
  now = new Date(now.getTime() + 301_000);
  t.is(await layer.channelKind(turn('slack', 'U', { conversationId: 'C0PUB' }), port), 'public');
  t.is(port.kindAsked, 2, 'asked again once the cache expired');
  t.is(await layer.channelKind(turn('slack', 'U', { conversationId: 'C0HIDDEN' }), port), 'shared');
  t.is(await layer.channelKind(turn('slack', 'U', { conversationId: 'C0HIDDEN', kindIfUnseen: 'dm' }), port), 'dm');
  t.is(await layer.channelKind(turn('lark', 'U', { conversationId: 'C0PUB' }), port), 'public', 'cached per platform');
  t.is(port.kindAsked, 5);
});

test.serial('share: the audience is the asker first, then every other member once, as an employee or the most restricted principal', async (t) => {
  const pool = ['U0BOT', SLACK.salesRep!, SLACK.salesLeadEast!, SLACK.gone!, SLACK.frozen!, 'U0STRANGER', 'U0BYMAIL'];
  const employeeOf: Record<string, Employee | null> = {
    [SLACK.salesRep!]: people.salesRep, [SLACK.salesLeadEast!]: people.salesLeadEast, U0BYMAIL: people.legalCounsel,
    [SLACK.gone!]: null, [SLACK.frozen!]: null, U0STRANGER: null,
  };
  await fc.assert(fc.asyncProperty(fc.array(fc.constantFrom(...pool), { maxLength: 12 }), async (members) => {
    const asker = (await directory.byChatId('slack', SLACK.salesRep!))!;
    const tr0 = turn('slack', SLACK.salesRep!, { conversationId: 'C0SHARE' });
    const port = new TablePort('chat', { members: { C0SHARE: members }, profiles: { U0BYMAIL: { email: people.legalCounsel.email } } }, 'U0BOT');
    const audience = await new TurnPeople({ directory, refusals: { recorder: producer, clock }, defaultLocale: 'zh-CN' }, tr0, port).audience(asker);
    const others = [...new Set(members)].filter((m) => m !== SLACK.salesRep && m !== 'U0BOT');
    t.deepEqual(audience[0], principalOf(asker));
    t.is(audience.length, others.length + 1);
    others.forEach((m, i) => {
      const e = employeeOf[m];
      t.deepEqual(audience[i + 1], e ? principalOf({ ...e, chat: {} }) : mostRestrictedPrincipal(m), m);
    });
    t.is((await recorded(tr0.correlationId)).length, 0, 'members are not refused, only counted as the most restricted');
  }), { numRuns: 30 });
});

test.serial('share in a direct message is declined without asking who is in it', async (t) => {
  const port = new TablePort('chat', { members: {} });
  const handled = await layer.click(turn('slack', SLACK.salesRep!, { kind: 'dm' }), 'customer_share', 'C-000001', port);
  t.like(handled, { command: 'share', failed: false });
  t.deepEqual(port.replies.map((r) => [r.to, r.kind, textOf(r.view)]), [['you', 'notice', tr('lookup.share.dmOnly', 'zh-CN')]]);
});
