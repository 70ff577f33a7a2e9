// Lark side of security operations: the anomaly alert card posted to the security group
// (LARK_SECURITY_CHAT) with Unfreeze / Keep frozen / Revoke all grants. Their clicks go through the
// conversation layer: the clicker is re-authorised by the core at click time (`admin` in the policy),
// every click is audited there, and the card is updated for everyone once an action was taken.
import type { AdminDecision } from '../core/security/guard.ts';
import type { SecurityDestination } from '../runtime/security-alerts.ts';
import type { LarkApi } from './api.ts';
import { button, card, text } from './cards.ts';

export const ACTION_SECURITY: Record<AdminDecision, string> = { unfreeze: 'sec_unfreeze', keep: 'sec_keep', revoke: 'sec_revoke' };

/**
 * The security group (bot/runtime/security-alerts.ts): alert cards, and notices without buttons
 * (bot/core/security/notices.ts), whose key de-duplicates a retried send; null without a group (alerts
 * are then only logged, bot/runtime/security.ts).
 */
export function larkSecurityChat(api: LarkApi, chat: string | undefined): SecurityDestination | null {
  if (!chat) return null;
  return {
    alert: async (view, alert) => {
      const buttons = view.buttons.map((b) => button(b.label, { a: ACTION_SECURITY[b.decision], c: view.employeeId }, b.decision === 'unfreeze' ? 'primary' : b.decision === 'revoke' ? 'danger' : 'default'));
      // One alert per detector, user and window (the core's tripOnce); the uuid makes Lark drop a retried
      // send, and names the detector: two detectors tripping on one lookup share its time but are two alerts.
      await api.sendCard('chat_id', chat, card(view.title, [text(view.lines.join('\n')), ...buttons], 'red'), `alert-${alert.detector}-${alert.employeeId}-${alert.at.getTime()}`);
    },
    notice: async (view) => {
      await api.sendCard('chat_id', chat, card(view.title, [text(view.lines.join('\n'))], view.tone === 'alert' ? 'red' : 'green'), view.key);
    },
  };
}
