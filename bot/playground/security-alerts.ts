// The playground's security channel: an anomaly alert card (the same neutral view Slack and Lark post to
// their security channel) goes into the inbox of every employee the policy lets act on alerts (`admin`),
// one ref shared by all copies, with Unfreeze / Keep frozen / Revoke all grants. A decision (its click
// goes through the conversation layer, which re-authorises the clicker) replaces every open copy about
// that employee with the outcome line, as the channel's one card changes for everyone on Slack.
import type { Employee } from '../core/domain.ts';
import { principalOf } from '../core/identity.ts';
import type { Locale } from '../core/messages.ts';
import { t } from '../core/messages.ts';
import type { Clock } from '../core/ports.ts';
import type { AnomalyAlert, SecurityAlerts } from '../core/security/guard.ts';
import { alertView, type AlertView } from '../core/security/views.ts';
import type { PolicyEngine } from '../../policies/types.ts';
import { escapeHtml } from './html.ts';
import { newRef, type PlaygroundInbox } from './inbox.ts';

export const ALERT_KIND = 'security-alert';
const ALERT_ACTION = { unfreeze: 'security_unfreeze', keep: 'security_keep', revoke: 'security_revoke' } as const;

export interface PlaygroundSecurityDeps {
  inbox: PlaygroundInbox;
  directory: { byId(id: string): Promise<Employee | null>; all(): Promise<Employee[]> };
  engine: Pick<PolicyEngine, 'decide'>;
  clock: Clock;
  /** The channel's language (one card for all its members), as on Slack: the default locale. */
  locale: Locale;
}

/** Which inbox items are alert cards about `employeeId` (kept in the item's request slot). */
const subjectKey = (employeeId: string) => `alert:${employeeId}`;

export class PlaygroundSecurityAlerts implements SecurityAlerts {
  constructor(private readonly deps: PlaygroundSecurityDeps) {}

  /** The security channel's members: every active employee the policy allows `admin`. */
  private async members(): Promise<Employee[]> {
    const at = this.deps.clock.now();
    const all = (await this.deps.directory.all()).filter((e) => e.status === 'active');
    const allowed = await Promise.all(all.map(async (e) => (await this.deps.engine.decide(principalOf(e), 'admin', { channel: 'private', at })).allowed));
    return all.filter((_, i) => allowed[i]);
  }

  async alert(alert: AnomalyAlert): Promise<void> {
    const subject = await this.deps.directory.byId(alert.employeeId);
    const html = alertHtml(alertView(alert, subject?.name ?? alert.employeeId, this.deps.locale));
    const ref = newRef('alert');
    for (const m of await this.members()) await this.deps.inbox.push(m.employeeId, ref, { kind: ALERT_KIND, html }, { requestId: subjectKey(alert.employeeId), state: 'open' });
  }

  /** A decision taken: every open copy of an alert about `employeeId` shows its title and the outcome, without buttons. */
  async settle(employeeId: string, title: string, line: string): Promise<void> {
    const html = `<article class="alert" data-kind="${ALERT_KIND}" data-state="done"><h3>${escapeHtml(t('security.alert.title', this.deps.locale, { employee: title }))}</h3><ul class="lines"><li>${inline(line)}</li></ul></article>`;
    for (const open of await this.deps.inbox.openItems(ALERT_KIND, subjectKey(employeeId))) {
      await this.deps.inbox.push(open.employeeId, open.ref, { kind: ALERT_KIND, html }, { requestId: subjectKey(employeeId), state: 'done' });
    }
  }
}

function inline(text: string): string {
  return escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

function alertHtml(view: AlertView): string {
  const buttons = view.buttons.map((b) => `<button type="button" class="action" data-action="${ALERT_ACTION[b.decision]}" data-value="${escapeHtml(view.employeeId)}">${escapeHtml(b.label)}</button>`);
  return `<article class="alert" data-kind="${ALERT_KIND}" data-employee-id="${escapeHtml(view.employeeId)}" data-state="open"><h3>${escapeHtml(view.title)}</h3>`
    + `<ul class="lines">${view.lines.map((l) => `<li>${inline(l)}</li>`).join('')}</ul><div class="actions">${buttons.join(' ')}</div></article>`;
}
