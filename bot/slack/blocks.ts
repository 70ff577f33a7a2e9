// Block Kit rendering of the neutral views, kept inside Slack's limits (REFERENCE §2): ≤ 50 blocks,
// section text ≤ 3000 characters, ≤ 25 elements per actions block, action_id / block_id ≤ 255, button
// value ≤ 2000. Values are already masked by the core; here they are only escaped and shortened.
import type { types } from '@slack/bolt';
import type { View } from '../core/views.ts';
import { clipChars as clip } from '../core/clip.ts';

export const ACTION_SHARE = 'customer_share';
export const ACTION_PICK = 'customer_pick';
// Approval buttons on the card (handled in approval-handlers.ts; ids repeated in approval-blocks.ts).
const ACTION_OF_REQUEST = { reveal: 'approval_reveal', access: 'approval_access' } as const;

const MAX_BLOCKS = 50;
const MAX_SECTION = 3000;
const MAX_VALUE = 300; // one field's value on a card; long notes are shortened with an ellipsis
const MAX_HEADER = 150;
const MAX_BUTTON_TEXT = 75;

type KnownBlock = types.KnownBlock;

export interface SlackMessage { text: string; blocks: KnownBlock[] }

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function plain(text: string, max: number): { type: 'plain_text'; text: string; emoji: boolean } {
  return { type: 'plain_text', text: clip(text, max), emoji: false };
}

export function renderView(view: View): SlackMessage {
  switch (view.kind) {
    case 'notice':
      return { text: view.text, blocks: [section(view.text)] };
    case 'help':
      return { text: view.title, blocks: [{ type: 'header', text: plain(view.title, MAX_HEADER) }, ...view.lines.map((l) => section(l))] };
    case 'pick':
      return renderPick(view);
    case 'card':
      return renderCard(view);
  }
}

function section(markdown: string, blockId?: string): KnownBlock {
  return { type: 'section', ...(blockId ? { block_id: blockId } : {}), text: { type: 'mrkdwn', text: clip(markdown, MAX_SECTION) } };
}

function renderCard(view: Extract<View, { kind: 'card' }>): SlackMessage {
  const blocks: KnownBlock[] = [{ type: 'header', text: plain(view.title, MAX_HEADER) }];
  for (const g of view.groups) {
    const lines = g.fields.map((f) => `*${escapeMrkdwn(f.label)}*: ${escapeMrkdwn(clip(f.value, MAX_VALUE))}`);
    // One section per group; a group too long for one section continues in the next.
    for (const chunk of chunkLines([`*${escapeMrkdwn(g.label)}*`, ...lines], MAX_SECTION)) {
      blocks.push(section(chunk));
    }
  }
  const tail: KnownBlock[] = [{ type: 'context', elements: [{ type: 'mrkdwn', text: escapeMrkdwn(clip(view.footer, 2000)) }] }];
  const buttons: types.Button[] = [];
  if (view.share) buttons.push({ type: 'button', action_id: ACTION_SHARE, text: plain(view.share.label, MAX_BUTTON_TEXT), value: view.share.value.slice(0, 2000) });
  for (const r of view.requests ?? []) {
    // Several reveal buttons share one action id; Slack wants action ids unique within a block.
    buttons.push({ type: 'button', action_id: `${ACTION_OF_REQUEST[r.kind]}:${buttons.length}`, text: plain(r.label, MAX_BUTTON_TEXT), value: r.value.slice(0, 2000) });
  }
  if (buttons.length) tail.push({ type: 'actions', block_id: 'card_actions', elements: buttons });
  const body = blocks.slice(0, MAX_BLOCKS - tail.length);
  return { text: view.title, blocks: [...body, ...tail] };
}

function renderPick(view: Extract<View, { kind: 'pick' }>): SlackMessage {
  const blocks: KnownBlock[] = [section(escapeMrkdwn(view.intro))];
  for (const c of view.candidates.slice(0, MAX_BLOCKS - 1)) {
    blocks.push({
      type: 'section',
      block_id: `pick_${c.customerId}`.slice(0, 255),
      text: { type: 'mrkdwn', text: clip(`*${escapeMrkdwn(c.customerId)}*\n${escapeMrkdwn(c.summary)}`, MAX_SECTION) },
      accessory: { type: 'button', action_id: ACTION_PICK, text: plain(c.button.label, MAX_BUTTON_TEXT), value: c.button.value.slice(0, 2000) },
    });
  }
  return { text: view.intro, blocks };
}

/** Joins lines into chunks of at most `max` characters (a single over-long line is clipped). */
function chunkLines(lines: string[], max: number): string[] {
  const chunks: string[] = [];
  let current = '';
  for (const raw of lines) {
    const line = clip(raw, max);
    if (current && current.length + 1 + line.length > max) {
      chunks.push(current);
      current = line;
    } else {
      current = current ? `${current}\n${line}` : line;
    }
  }
  if (current) chunks.push(current);
  return chunks;
}
