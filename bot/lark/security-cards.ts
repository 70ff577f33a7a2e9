// Lark side of security operations: the anomaly alert card posted to the security group
// (LARK_SECURITY_CHAT) with Unfreeze / Keep frozen / Revoke all grants, and the clicks on it. As on
// Slack, the clicker is re-authorised by the core at click time (`admin` in the policy) and every click,
// allowed or not, is audited there; the card is updated for everyone once an action was taken.
import type { Employee } from '../core/domain.ts';
import type { Locale } from '../core/messages.ts';
import type { EmployeeDirectory } from '../core/ports.ts';
import type { AdminDecision, AnomalyAlert, SecurityAlerts, SecurityService } from '../core/security/guard.ts';
import type { NoticeView, SecurityNotices } from '../core/security/notices.ts';
import { alertView, outcomeLine } from '../core/security/views.ts';
import type { Logger } from '../logger.ts';
import type { LarkApi } from './api.ts';
import { button, card, text, type LarkCard } from './cards.ts';

export const ACTION_SECURITY: Record<AdminDecision, string> = { unfreeze: 'sec_unfreeze', keep: 'sec_keep', revoke: 'sec_revoke' };

export function securityDecisionOf(action: string): AdminDecision | undefined {
  return (Object.keys(ACTION_SECURITY) as AdminDecision[]).find((d) => ACTION_SECURITY[d] === action);
}

/** A notice without buttons (bot/core/security/notices.ts) to the security group; its key de-duplicates a retried send. */
export async function postLarkSecurityNotice(api: LarkApi, chat: string, view: NoticeView): Promise<void> {
  await api.sendCard('chat_id', chat, card(view.title, [text(view.lines.join('\n'))], view.tone === 'alert' ? 'red' : 'green'), view.key);
}

/** Posts alert cards to the security group; without one, alerts are only logged (bot/runtime/security.ts). */
export class LarkSecurityAlerts implements SecurityAlerts, SecurityNotices {
  constructor(private readonly deps: { api: LarkApi; chat: string | undefined; directory: EmployeeDirectory; locale: Locale; logger: Logger }) {}

  async alert(alert: AnomalyAlert): Promise<void> {
    if (!this.deps.chat) return;
    const employee = await this.deps.directory.byId(alert.employeeId);
    const view = alertView(alert, employee?.name ?? alert.employeeId, this.deps.locale);
    const buttons = view.buttons.map((b) => button(b.label, { a: ACTION_SECURITY[b.decision], c: view.employeeId }, b.decision === 'unfreeze' ? 'primary' : b.decision === 'revoke' ? 'danger' : 'default'));
    // One alert per detector, user and window (the core's tripOnce); the uuid makes Lark drop a retried
    // send, and names the detector: two detectors tripping on one lookup share its time but are two alerts.
    await this.deps.api.sendCard('chat_id', this.deps.chat, card(view.title, [text(view.lines.join('\n')), ...buttons], 'red'), `alert-${alert.detector}-${alert.employeeId}-${alert.at.getTime()}`);
  }

  async notice(view: NoticeView): Promise<void> {
    if (this.deps.chat) await postLarkSecurityNotice(this.deps.api, this.deps.chat, view);
  }
}

export interface SecurityClickAnswer { line: string; ok: boolean; card?: LarkCard }

/** A click on an alert card by the employee `clicker` (already identified, active). */
export async function securityClick(
  deps: { security: SecurityService; directory: EmployeeDirectory },
  clicker: { employee: Employee; openId: string }, decision: AdminDecision, employeeId: string,
): Promise<SecurityClickAnswer> {
  const locale = clicker.employee.locale;
  const outcome = await deps.security.decide(clicker.employee, 'lark', clicker.openId, decision, employeeId);
  const line = outcomeLine(outcome, `${clicker.employee.name} (${clicker.employee.employeeId})`, locale);
  if (outcome.kind !== 'done') return { line, ok: false };
  // The card's evidence is not sent back with a click: the updated card names the user and the outcome.
  const subject = await deps.directory.byId(employeeId);
  return { line, ok: true, card: card(`${subject?.name ?? employeeId} (${employeeId})`, [text(line)], 'grey') };
}
