// Block Kit for the approval flow's neutral views (bot/core/views-approval.ts): the request card, the
// request modal and the deny modal. Limits as in blocks.ts.
import type { types } from '@slack/bolt';
import type { ApprovalView, DenyForm, RequestForm } from '../core/views-approval.ts';
import { escapeMrkdwn, type SlackMessage } from './blocks.ts';

export const ACTION_REVEAL = 'approval_reveal';
export const ACTION_ACCESS = 'approval_access';
export const ACTION_APPROVE = 'approval_approve';
export const ACTION_DENY = 'approval_deny';
export const ACTION_CANCEL = 'approval_cancel';
export const VIEW_REQUEST = 'approval_request_form';
export const VIEW_DENY = 'approval_deny_form';
export const INPUT_REASON = 'reason';
export const INPUT_DURATION = 'duration';
export const INPUT_GROUPS = 'groups';

const ACTION_OF = { approve: ACTION_APPROVE, deny: ACTION_DENY, cancel: ACTION_CANCEL } as const;

function plain(text: string, max: number): { type: 'plain_text'; text: string; emoji: boolean } {
  const chars = Array.from(text);
  return { type: 'plain_text', text: chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`, emoji: false };
}

export function renderApproval(view: ApprovalView): SlackMessage {
  const lines = view.lines.map((l) => `*${escapeMrkdwn(l.label)}*: ${escapeMrkdwn(l.value)}`).join('\n');
  const blocks: types.KnownBlock[] = [
    { type: 'header', text: plain(view.title, 150) },
    { type: 'section', text: { type: 'mrkdwn', text: lines.slice(0, 3000) } },
    { type: 'context', elements: [{ type: 'mrkdwn', text: escapeMrkdwn(view.status.text).slice(0, 2000) }] },
  ];
  if (view.buttons.length) {
    blocks.push({
      type: 'actions',
      block_id: `approval_${view.requestId}`,
      elements: view.buttons.map((b) => ({
        type: 'button' as const, action_id: ACTION_OF[b.action], text: plain(b.label, 75), value: b.value,
        ...(b.style ? { style: b.style } : {}),
      })),
    });
  }
  return { text: `${view.title} — ${view.status.text}`, blocks };
}

export function renderRequestForm(form: RequestForm): types.ModalView {
  const blocks: types.KnownBlock[] = [
    { type: 'section', text: { type: 'mrkdwn', text: escapeMrkdwn(form.summary).slice(0, 3000) } },
    ...(form.fieldOutcomes ? [{ type: 'section' as const, text: { type: 'mrkdwn' as const, text: outcomeList(form.fieldOutcomes) } }] : []),
    {
      type: 'input', block_id: INPUT_REASON, label: plain(form.reasonLabel, 2000),
      element: { type: 'plain_text_input', action_id: INPUT_REASON, multiline: true, max_length: 500 },
    },
    {
      type: 'input', block_id: INPUT_DURATION, label: plain(form.duration.label, 2000),
      element: { type: 'number_input', action_id: INPUT_DURATION, is_decimal_allowed: false, min_value: '1', max_value: String(form.duration.max), initial_value: String(form.duration.initial) },
    },
  ];
  if (form.groups) {
    blocks.push({
      type: 'input', block_id: INPUT_GROUPS, label: plain(form.groups.label, 2000),
      element: {
        type: 'checkboxes', action_id: INPUT_GROUPS,
        options: form.groups.options.map((o) => ({ text: plain(o.label, 75), value: o.value })),
      },
    });
  }
  return { type: 'modal', callback_id: VIEW_REQUEST, title: plain(form.title, 24), submit: plain(form.submit, 24), private_metadata: form.metadata, blocks };
}

/** An export's per-field outcomes as a bulleted list (a section holds at most 3000 characters). */
function outcomeList(o: NonNullable<RequestForm['fieldOutcomes']>): string {
  return [`*${escapeMrkdwn(o.label)}*`, ...o.items.map((i) => `• ${escapeMrkdwn(i)}`)].join('\n').slice(0, 3000);
}

export function renderDenyForm(form: DenyForm): types.ModalView {
  return {
    type: 'modal', callback_id: VIEW_DENY, title: plain(form.title, 24), submit: plain(form.submit, 24), private_metadata: form.metadata,
    blocks: [{ type: 'input', block_id: INPUT_REASON, label: plain(form.reasonLabel, 2000), element: { type: 'plain_text_input', action_id: INPUT_REASON, multiline: true, max_length: 500 } }],
  };
}
