// Anomaly alerts and security notices for a platform's security destination (DingTalk's group, Lark's
// chat, WeCom's members): the alerted employee named as the directory knows them, the alert's view in the
// deployment's language, posted by the platform. Without a destination nothing is posted; the alert is
// logged either way (bot/runtime/security.ts) and the freeze does not depend on it.
import type { Locale } from '../core/messages.ts';
import type { EmployeeDirectory } from '../core/ports.ts';
import type { AnomalyAlert, SecurityAlerts } from '../core/security/guard.ts';
import type { NoticeView, SecurityNotices } from '../core/security/notices.ts';
import { alertView, type AlertView } from '../core/security/views.ts';

export interface SecurityDestination {
  /** An alert card with its buttons (Unfreeze / Keep frozen / Revoke all grants). */
  alert(view: AlertView, alert: AnomalyAlert): Promise<void>;
  notice(view: NoticeView): Promise<void>;
}

export class ChannelSecurityAlerts implements SecurityAlerts, SecurityNotices {
  constructor(private readonly deps: { destination: SecurityDestination | null; directory: EmployeeDirectory; locale: Locale }) {}

  async alert(alert: AnomalyAlert): Promise<void> {
    const to = this.deps.destination;
    if (!to) return;
    const employee = await this.deps.directory.byId(alert.employeeId);
    await to.alert(alertView(alert, employee?.name ?? alert.employeeId, this.deps.locale), alert);
  }

  async notice(view: NoticeView): Promise<void> {
    await this.deps.destination?.notice(view);
  }
}
