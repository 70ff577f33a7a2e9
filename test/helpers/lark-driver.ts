// The Lark driver of the shared scenarios (test/scenarios): signed, encrypted pushes to the real Lark
// endpoint; cards read from the fake Open API.
import type { DemoEmployeeKey } from '../../bot/store/demo-company.ts';
import { cardButtons, cardFieldMap, cardFormFields, cardText, type SentMessage } from '../fakes/lark-api.ts';
import { CUSTOMERS, SEED, TEAM, trailEntry, type PlatformDriver, type SeenApproval, type SeenCard, type TrailEntry } from '../scenarios/driver.ts';
import { LarkHarness, PUBLIC_GROUP } from './lark-bot.ts';

export class LarkDriver implements PlatformDriver {
  readonly platform = 'lark' as const;
  readonly h: LarkHarness;
  private seen = 0;
  private readonly approverCards = new Map<string, SentMessage>();

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

  async requestAccess(user: DemoEmployeeKey, customerId: string, groups: string[], reason: string, minutes: number, approver: DemoEmployeeKey): Promise<{ requestId: string; approverCard: SeenApproval }> {
    const lookup = await this.h.ask(user, customerId);
    const access = cardButtons(lookup.card).find((b) => b.value.a === 'access');
    if (!access) throw new Error('no Request access button on the Lark card');
    const n = this.h.fake.sent().length;
    const after = (m: SentMessage) => this.h.fake.sent().indexOf(m) >= n;
    await this.h.click(user, lookup, access.value);
    const form = await this.h.fake.waitFor((m) => after(m) && m.receiveId === this.h.openId(user) && cardFormFields(m.card).includes('reason'));
    const submit = cardButtons(form.card).find((b) => b.value.a === 'request_submit')!;
    const res = await this.h.click(user, form, submit.value, { reason, duration: String(minutes), groups });
    const requestId = /#(R-[A-P]{10})/.exec(res.answer.toast?.content ?? '')?.[1];
    if (!requestId) throw new Error(`request not submitted: ${res.answer.toast?.content ?? ''}`);
    const card = await this.h.fake.waitFor((m) => after(m) && m.receiveId === this.h.openId(approver) && cardText(m.card).includes(requestId));
    this.approverCards.set(requestId, card);
    return { requestId, approverCard: approvalSeen(card) };
  }

  async approve(approver: DemoEmployeeKey, requestId: string): Promise<{ answer: string; copies: SeenApproval[] }> {
    const card = this.approverCards.get(requestId);
    if (!card) throw new Error(`no approver card of ${requestId}`);
    const res = await this.h.click(approver, card, { a: 'approve', r: requestId });
    const copies = this.h.fake.sent().filter((m) => cardText(m.card).startsWith(approvalTitlePrefix(m, requestId)));
    const updated = await Promise.all(copies.map((m) => this.h.fake.waitFor((x) => x === m && x.patches.length > 0)));
    return { answer: res.answer.toast?.content ?? '', copies: updated.map(approvalSeen) };
  }

  async exportApproved(user: DemoEmployeeKey, command: string, reason: string, minutes: number, approver: DemoEmployeeKey): Promise<string> {
    const n = this.h.fake.sent().length;
    const form = await this.h.ask(user, command);
    const submit = cardButtons(form.card).find((b) => b.value.a === 'request_submit');
    if (!submit) throw new Error(`no export form: ${cardText(form.card)}`);
    const res = await this.h.click(user, form, submit.value, { reason, duration: String(minutes) });
    const requestId = /#(R-[A-P]{10})/.exec(res.answer.toast?.content ?? '')?.[1];
    if (!requestId) throw new Error(`export not requested: ${res.answer.toast?.content ?? ''}`);
    const card = await this.h.fake.waitFor((m) => this.h.fake.sent().indexOf(m) >= n && m.receiveId === this.h.openId(approver) && cardText(m.card).includes(requestId));
    await this.h.click(approver, card, { a: 'approve', r: requestId });
    const file = await this.h.fake.waitFor((m) => this.h.fake.sent().indexOf(m) >= n && m.msgType === 'file' && m.receiveId === this.h.openId(user), 60_000);
    return this.h.fake.files.get(file.fileKey!)!.bytes.toString('utf8');
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

/** The title a copy of request `requestId`'s card starts with (its header), or a string no card starts with. */
function approvalTitlePrefix(m: SentMessage, requestId: string): string {
  const title = (m.card?.header as { title?: { content?: string } } | undefined)?.title?.content ?? '';
  return title.includes(`#${requestId}`) ? title : '\u0000';
}

/** Elements: the `label: value` lines, a rule, the status line, then the buttons. */
function approvalSeen(m: SentMessage): SeenApproval {
  const elements = ((m.card?.body as { elements?: { tag: string; text?: { content?: string } }[] } | undefined)?.elements) ?? [];
  const title = (m.card?.header as { title?: { content?: string } } | undefined)?.title?.content ?? '';
  return { title, fields: cardFieldMap(m.card), status: elements[2]?.text?.content ?? '', buttons: cardButtons(m.card).map((b) => b.value.a ?? '') };
}
