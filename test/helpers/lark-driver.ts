// The Lark driver of the shared scenarios (test/scenarios): signed, encrypted pushes to the real Lark
// endpoint; cards read from the fake Open API.
import type { DemoEmployeeKey } from '../../bot/store/demo-company.ts';
import { cardButtons, cardFieldMap, cardText, type SentMessage } from '../fakes/lark-api.ts';
import { CUSTOMERS, SEED, TEAM, trailEntry, type PlatformDriver, type SeenCard, type TrailEntry } from '../scenarios/driver.ts';
import { LarkHarness, PUBLIC_GROUP } from './lark-bot.ts';

export class LarkDriver implements PlatformDriver {
  readonly platform = 'lark' as const;
  readonly h: LarkHarness;
  private seen = 0;

  constructor(file: string) {
    this.h = new LarkHarness(file, { customers: CUSTOMERS, seed: SEED, publicMembers: TEAM });
  }

  async start(): Promise<void> { await this.h.start(); }
  async close(): Promise<void> { await this.h.close(); }

  async lookupInDm(user: DemoEmployeeKey, text: string): Promise<SeenCard> {
    return seen(await this.h.ask(user, text));
  }

  async shareInTeam(user: DemoEmployeeKey, text: string): Promise<{ own: SeenCard; shared: SeenCard }> {
    const mine = await this.h.ask(user, text, PUBLIC_GROUP);
    const share = cardButtons(mine.card).find((b) => b.value.a === 'share');
    if (!share) throw new Error('no share button on the Lark card');
    const before = this.h.fake.sentTo(PUBLIC_GROUP).length;
    const click = await this.h.click(user, mine, share.value);
    if (click.status !== 200) throw new Error(`share click answered ${click.status}`);
    const posted = await this.h.fake.waitFor((m) => m.receiveId === PUBLIC_GROUP && this.h.fake.sentTo(PUBLIC_GROUP).indexOf(m) >= before);
    return { own: seen(mine), shared: seen(posted) };
  }

  async trailSince(atLeast: number): Promise<TrailEntry[]> {
    const all = await this.h.auditRecords({}, this.seen + atLeast);
    const fresh = all.slice(this.seen);
    this.seen = all.length;
    return fresh.map(trailEntry);
  }
}

function seen(m: SentMessage): SeenCard {
  const text = cardText(m.card);
  const header = (m.card?.header as { title?: { content?: string } } | undefined)?.title?.content ?? '';
  return { title: header, fields: cardFieldMap(m.card), text, shareable: cardButtons(m.card).some((b) => b.value.a === 'share') };
}
