// One audit request, as every chat adapter runs it once it knows who asks: typed text (`audit …`, Slack's
// `/audit …`) or a paging button's token → the view to render. Authorisation and auditing happen in
// the service; refusals and bad input are thrown as CustosErrors for the adapter's `auditErrorView`.
import { parseAuditCommand } from './audit-query.ts';
import type { AuditAsker, AuditQueryService } from './audit-query-service.ts';
import { auditHelpView, auditTableView, chainStateView, type AuditView } from './audit-query-views.ts';

export type AuditInput = { text: string } | { token: string };

export async function auditQueryView(audit: AuditQueryService, asker: AuditAsker, input: AuditInput, now: Date): Promise<AuditView> {
  const { locale, timezone } = asker.employee;
  if ('token' in input) return auditTableView(await audit.turn(asker, input.token), locale, timezone);
  const command = parseAuditCommand(input.text, { now, timezone, mentions: audit.mentions });
  if (command.kind === 'help') return auditHelpView(locale);
  if (command.kind === 'verify') return chainStateView(await audit.verify(asker, command.purpose), locale);
  return auditTableView(await audit.query(asker, command.filter, command.purpose, input.text), locale, timezone);
}

/** `audit …` or `/audit …` typed as a message → the words after it; anything else → null. */
export function auditText(text: string): string | null {
  const m = /^\/?audit(?:\s+|$)(.*)$/is.exec(text.trim());
  return m ? m[1]! : null;
}
