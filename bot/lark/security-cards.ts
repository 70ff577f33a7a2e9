// Lark side of security operations: the anomaly alert card posted to the security group
// (LARK_SECURITY_CHAT) with Unfreeze / Keep frozen / Revoke all grants. Their clicks go through the
// conversation layer: the clicker is re-authorised by the core at click time (`admin` in the policy),
// every click is audited there, and the card is updated for everyone once an action was taken.
import type { Locale } from '../core/messages.ts';
import type { EmployeeDirectory } from '../core/ports.ts';
import type { AdminDecision, AnomalyAlert } from '../core/security/guard.ts';
import type { NoticeView } from '../core/security/notices.ts';
import type { AlertView } from '../core/security/views.ts';
import type { Logger } from '../logger.ts';
import { ChannelSecurityAlerts } from '../runtime/security-alerts.ts';
import type { LarkApi } from './api.ts';
import { button, card, text } from './cards.ts';

export const ACTION_SECURITY: Record<AdminDecision, string> = { unfreeze: 'sec_unfreeze', keep: 'sec_keep', revoke: 'sec_revoke' };

/** A notice without buttons (bot/core/security/notices.ts) to the security group; its key de-duplicates a retried send. */
export async function postLarkSecurityNotice(api: LarkApi, chat: string, view: NoticeView): Promise<void> {
  await api.sendCard('chat_id', chat, card(view.title, [text(view.lines.join('\n'))], view.tone === 'alert' ? 'red' : 'green'), view.key);
}

/** Posts alert cards to the security group; without one, alerts are only logged (bot/runtime/security.ts). */
export class LarkSecurityAlerts extends ChannelSecurityAlerts {
  constructor(deps: { api: LarkApi; chat: string | undefined; directory: EmployeeDirectory; locale: Locale; logger: Logger }) {
    const { api, chat } = deps;
    const destination = chat ? {
      alert: async (view: AlertView, alert: AnomalyAlert) => {
        const buttons = view.buttons.map((b) => button(b.label, { a: ACTION_SECURITY[b.decision], c: view.employeeId }, b.decision === 'unfreeze' ? 'primary' : b.decision === 'revoke' ? 'danger' : 'default'));
        // One alert per detector, user and window (the core's tripOnce); the uuid makes Lark drop a retried
        // send, and names the detector: two detectors tripping on one lookup share its time but are two alerts.
        await api.sendCard('chat_id', chat, card(view.title, [text(view.lines.join('\n')), ...buttons], 'red'), `alert-${alert.detector}-${alert.employeeId}-${alert.at.getTime()}`);
      },
      notice: (view: NoticeView) => postLarkSecurityNotice(api, chat, view),
    } : null;
    super({ destination, directory: deps.directory, locale: deps.locale });
  }
}
