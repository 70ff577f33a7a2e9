// The Slack driver of the shared scenarios (test/scenarios): signed requests to the real Bolt endpoint;
// messages read from the fake Slack Web API. Block Kit mrkdwn escapes are undone so cards compare
// with other platforms' plain text.
import type { DemoEmployeeKey } from '../../bot/store/demo-company.ts';
import { ACTION_SHARE } from '../../bot/slack/blocks.ts';
import { CUSTOMERS, TEAM, trailEntry, type PlatformDriver, type SeenCard, type TrailEntry } from '../scenarios/driver.ts';
import { cardFields, messageText, PUBLIC_CHANNEL, SlackHarness } from './slack-bot.ts';

export class SlackDriver implements PlatformDriver {
  readonly platform = 'slack' as const;
  readonly h: SlackHarness;
  private seen = 0;

  constructor(file: string) {
    this.h = new SlackHarness(file, { customers: CUSTOMERS, publicMembers: TEAM });
  }

  async start(): Promise<void> { await this.h.start(); }
  async close(): Promise<void> { await this.h.close(); }

  async lookupInDm(user: DemoEmployeeKey, text: string): Promise<SeenCard> {
    const reply = await this.h.ask(this.h.userId(user), this.h.dmOf(user), text);
    return seen(reply.body);
  }

  async shareInTeam(user: DemoEmployeeKey, text: string): Promise<{ own: SeenCard; shared: SeenCard }> {
    const mine = await this.h.ask(this.h.userId(user), PUBLIC_CHANNEL, text);
    const actions = (mine.body.blocks as { type: string; elements?: { action_id: string; value: string }[] }[]).find((b) => b.type === 'actions');
    const button = actions?.elements?.find((e) => e.action_id === ACTION_SHARE);
    if (!button) throw new Error('no share button on the Slack card');
    const before = this.h.fake.callsTo('chat.postMessage').length;
    const { responseUrl } = await this.h.click(this.h.userId(user), PUBLIC_CHANNEL, button.action_id, button.value);
    await this.h.replyTo(responseUrl);
    const posted = this.h.fake.callsTo('chat.postMessage').slice(before).find((c) => c.body.channel === PUBLIC_CHANNEL);
    if (!posted) throw new Error('nothing posted in the channel');
    return { own: seen(mine.body), shared: seen(posted.body) };
  }

  async trailSince(atLeast: number): Promise<TrailEntry[]> {
    const all = await this.h.auditRecords({}, this.seen + atLeast);
    const fresh = all.slice(this.seen);
    this.seen = all.length;
    return fresh.map(trailEntry);
  }
}

function unescape(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function seen(body: Record<string, unknown>): SeenCard {
  const blocks = (body.blocks ?? []) as { type: string; text?: { text?: string }; elements?: { action_id?: string }[] }[];
  const header = blocks.find((b) => b.type === 'header')?.text?.text ?? '';
  const fields = new Map([...cardFields(body)].map(([k, v]) => [unescape(k), unescape(v)]));
  const shareable = blocks.some((b) => b.type === 'actions' && (b.elements ?? []).some((e) => e.action_id === ACTION_SHARE));
  return { title: header, fields, text: unescape(messageText(body)), shareable };
}
