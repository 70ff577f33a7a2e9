// The audit query's `by @…` names a person in any registered platform's mention form (each module's
// `mention`, bot/platforms.ts), resolved through the employees' chat-id map: Slack `<@U…>`, Lark's open_id,
// DingTalk `@userid`, WeCom `<@userid>`. A form several platforms share (`<@…>`: Slack and WeCom) is
// tried on the asker's platform first, then in registry order; a mention of nobody is refused.
import test from 'ava';
import { loadConfig } from '../bot/config.ts';
import { parseAuditCommand } from '../bot/core/audit-query.ts';
import type { AuditQueryService } from '../bot/core/audit-query-service.ts';
import type { Employee } from '../bot/core/domain.ts';
import { CustosError } from '../bot/core/errors.ts';
import { createLogger } from '../bot/logger.ts';
import { PLATFORMS } from '../bot/platforms.ts';
import { auditQueryService } from '../bot/runtime/audit-query.ts';
import { buildServices, type BotServices } from '../bot/runtime/services.ts';
import { demoEmployees } from '../bot/store/demo-company.ts';
import { closeHarness, seedBoundCompany } from './helpers/bound-company.ts';
import { testDatabase, testEnv, uniqueName } from './helpers/services.ts';

const WORKDAY = Date.parse('2026-06-30T02:30:00Z');
const prefix = uniqueName(import.meta.url, 'prefix');
const employees = demoEmployees();
const PURPOSE = 'quarterly access audit';
let db: Awaited<ReturnType<typeof testDatabase>>;
let services: BotServices;
let audit: AuditQueryService;

test.before(async () => {
  db = await testDatabase(import.meta.url);
  const config = loadConfig(testEnv(db.name, prefix), { require: ['mongo', 'redis', 'crypto', 'audit'] });
  await seedBoundCompany(db.conn, config, { customers: 10, seed: 'audit-mentions' }, { platform: 'slack', idOf: (e) => `U${e.employeeId.replace(/\D/g, '')}`, employees });
  services = await buildServices(config, createLogger({ level: 'silent' }), { clock: { now: () => new Date(WORKDAY) } }, () => ({ alert: async () => undefined }));
  const bind = (e: Employee, platform: string, id: string) => services.directory.bindChatId(e.employeeId, platform, id);
  await bind(employees.salesLeadEast, 'lark', 'ou_4a7b');
  await bind(employees.financeClerk, 'dingtalk', 'dt-0417');
  await bind(employees.supportAgent, 'wecom', 'zhang.wei');
  // The same id on Slack (salesRep's) and on WeCom (legalHead's): the asker's platform decides.
  await bind(employees.legalHead, 'wecom', `U${employees.salesRep.employeeId.replace(/\D/g, '')}`);
  audit = await auditQueryService(services, config);
});
test.after.always(async () => {
  await closeHarness({ bot: services, workers: undefined, fake: { stop: async () => undefined }, db, prefix });
});

/** The employee id `by <who>` resolves to, asked by the auditor on `platform`. */
async function actorOf(who: string, platform: string): Promise<string | undefined> {
  const text = `by ${who} purpose: ${PURPOSE}`;
  const asker = { employee: employees.auditor, platform, platformUserId: 'auditor', channel: 'dm' as const };
  const command = parseAuditCommand(text, { now: new Date(WORKDAY), timezone: 'Asia/Shanghai', mentions: audit.mentions });
  if (command.kind !== 'query') throw new Error(`not a query: ${command.kind}`);
  return (await audit.query(asker, command.filter, command.purpose, text)).filter.actorId;
}

test('every registered platform declares its mention form', (t) => {
  t.deepEqual(PLATFORMS.mentionForms().map((f) => f.platform), PLATFORMS.ids());
});

const slackId = (e: Employee) => `U${e.employeeId.replace(/\D/g, '')}`;
const TABLE: { row: string; who: string; asker: string; is: () => Employee }[] = [
  { row: 'Slack <@U…>', who: `<@${slackId(employees.salesRep)}>`, asker: 'slack', is: () => employees.salesRep },
  { row: 'Slack <@U…|name>', who: `<@${slackId(employees.auditor)}|liu.yang>`, asker: 'lark', is: () => employees.auditor },
  { row: 'Lark open_id', who: 'ou_4a7b', asker: 'lark', is: () => employees.salesLeadEast },
  { row: 'DingTalk @userid', who: '@dt-0417', asker: 'dingtalk', is: () => employees.financeClerk },
  { row: 'WeCom <@userid>, asked from Slack: no Slack user has it, WeCom does', who: '<@zhang.wei>', asker: 'slack', is: () => employees.supportAgent },
  { row: 'an id on Slack and on WeCom, asked from WeCom: the WeCom user', who: `<@${slackId(employees.salesRep)}>`, asker: 'wecom', is: () => employees.legalHead },
  { row: 'the same, asked from DingTalk: registry order (Slack first)', who: `<@${slackId(employees.salesRep)}>`, asker: 'dingtalk', is: () => employees.salesRep },
  { row: 'the same, asked from the playground', who: `<@${slackId(employees.salesRep)}>`, asker: 'playground', is: () => employees.salesRep },
];

for (const c of TABLE) {
  test(`by @…: ${c.row}`, async (t) => {
    t.is(await actorOf(c.who, c.asker), c.is().employeeId);
  });
}

test('a mention of nobody is refused as an unknown person; a word in no mention form is a bad person', async (t) => {
  const unknown = await t.throwsAsync(() => actorOf('<@UNOBODY1>', 'slack'), { instanceOf: CustosError });
  t.is(unknown!.details.problem, 'unknown_person');
  const lark = await t.throwsAsync(() => actorOf('ou_nobody', 'dingtalk'), { instanceOf: CustosError });
  t.is(lark!.details.problem, 'unknown_person');
  const bad = await t.throwsAsync(() => actorOf('@@x', 'dingtalk'), { instanceOf: CustosError });
  t.is(bad!.details.problem, 'bad_person');
  t.is(await actorOf(employees.salesRep.email, 'wecom'), employees.salesRep.employeeId, 'e-mail still works');
});
