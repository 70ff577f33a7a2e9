// The Slack bot (real Bolt, fake Slack API) and the Lark bot (real Lark SDK, fake Lark Open API) side by
// side on one database, one Redis prefix and one configuration with both platforms, as a deployment
// with both runs them. The DPO and the head of sales are reached on Lark only; the sales rep is bound on
// both (reached on Slack first); everyone else on Slack.
import type { Customer, Employee } from '../../bot/core/domain.ts';
import { startLarkBot, type RunningLarkBot } from '../../bot/lark/runtime.ts';
import { demoEmployeeList, type DemoEmployeeKey } from '../../bot/store/demo-company.ts';
import { FakeLarkApi } from '../fakes/lark-api.ts';
import { openIdOf } from './lark-bot.ts';
import { ENCRYPT_KEY, VERIFICATION_TOKEN } from './lark-sign.ts';
import type { movableClock } from './slack-approval.ts';
import { SlackHarness } from './slack-bot.ts';

/** Reached on Lark only (not bound to Slack). */
export const LARK_ONLY: DemoEmployeeKey[] = ['dpo', 'salesHead'];
export const larkDmOf = (e: Employee) => `oc_dm_${e.employeeId.replace(/\D/g, '')}`;

export class SlackAndLark {
  readonly lark = new FakeLarkApi({
    users: demoEmployeeList().map((e) => ({ openId: openIdOf(e), email: e.email })),
    chats: demoEmployeeList().map((e) => ({ chatId: larkDmOf(e), mode: 'p2p' as const, members: [openIdOf(e)] })),
  });
  h!: SlackHarness;
  larkBot!: RunningLarkBot;
  /** Every customer of the seeded company. */
  readonly all: Customer[] = [];

  constructor(private readonly file: string, private readonly opts: { customers: number; clock: ReturnType<typeof movableClock>; extraEnv?: Record<string, string> }) {}

  async start(): Promise<this> {
    await this.lark.start();
    this.h = new SlackHarness(this.file, {
      customers: this.opts.customers, grants: true, clock: this.opts.clock, unbound: LARK_ONLY,
      extraEnv: {
        LARK_APP_ID: this.lark.appId, LARK_APP_SECRET: this.lark.appSecret, LARK_ENCRYPT_KEY: ENCRYPT_KEY, LARK_VERIFICATION_TOKEN: VERIFICATION_TOKEN,
        LARK_DOMAIN: this.lark.domain, LARK_HTTP_PORT: '0', ...this.opts.extraEnv,
      },
    });
    await this.h.start();
    for (const key of [...LARK_ONLY, 'salesRep'] as DemoEmployeeKey[]) await this.h.directory.bindChatId(this.h.employees[key].employeeId, 'lark', openIdOf(this.h.employees[key]));
    // A loaded machine must not turn a callback's answer into "working…" (the budget is lark-flows' subject).
    this.larkBot = await startLarkBot(this.h.config, this.h.logger, { clock: this.opts.clock, callbackBudgetMs: 60_000 });
    for await (const c of this.h.customers.stream({})) this.all.push(c);
    return this;
  }

  async close(): Promise<void> {
    await this.larkBot?.close().catch(() => undefined);
    await this.h?.close();
    await this.lark.stop();
  }
}
