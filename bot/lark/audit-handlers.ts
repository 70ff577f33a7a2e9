// The Lark `audit …` command (the same words as Slack's `/audit`) and its paging buttons. Like Slack,
// the adapter only identifies the user, works out the chat kind and renders: parsing, authorisation
// (admins, auditors, the DPO), auditing of the query itself and reading live in bot/core.
import { auditQueryView, type AuditInput } from '../core/audit-query-run.ts';
import type { AuditQueryService } from '../core/audit-query-service.ts';
import { auditErrorView, type AuditView } from '../core/audit-query-views.ts';
import type { Employee } from '../core/domain.ts';
import { isCustosError } from '../core/errors.ts';
import type { Locale } from '../core/messages.ts';
import type { Clock } from '../core/ports.ts';
import type { Logger } from '../logger.ts';
import { commandTimer, type CommandObserver } from '../metrics.ts';
import type { ChannelKind } from '../../policies/types.ts';
import { renderAuditCard } from './audit-cards.ts';
import type { LarkCard } from './cards.ts';

export interface LarkAuditDeps {
  audit: AuditQueryService;
  clock: Clock;
  defaultLocale: Locale;
  securityContact: string;
  logger: Logger;
  metrics?: CommandObserver;
}

/** What the Lark handlers know about one request, lent to the audit command. */
export interface LarkAuditTurn {
  openId: string;
  correlationId: string;
  /** The group a private copy belongs to (buttons keep acting for it). */
  groupChat?: string;
  /** Resolves the asker; identity refusals are recorded there, as for lookups. */
  identify(setLocale: (l: Locale) => void): Promise<Employee>;
  channel(): Promise<ChannelKind>;
}

export class LarkAudit {
  constructor(private readonly deps: LarkAuditDeps) {}

  /** `audit …` typed, or a paging button's token → the card to show the asker. */
  async card(input: AuditInput, turn: LarkAuditTurn): Promise<LarkCard> {
    const done = commandTimer(this.deps.metrics, 'lark');
    let locale = this.deps.defaultLocale;
    let view: AuditView;
    try {
      const employee = await turn.identify((l) => { locale = l; });
      const asker = { employee, platform: 'lark' as const, platformUserId: turn.openId, channel: await turn.channel(), correlationId: turn.correlationId };
      view = await auditQueryView(this.deps.audit, asker, input, this.deps.clock.now());
    } catch (err) {
      view = auditErrorView(err, locale, this.deps.securityContact);
      if (view.kind === 'notice' && view.tone === 'error') this.deps.logger.error({ err: isCustosError(err) ? err.code : (err as Error)?.name }, 'lark: audit query failed');
    }
    done('audit');
    return renderAuditCard(view, turn.groupChat);
  }
}

/**
 * The message text with the people it mentions as their open_ids (`by @张三` → `by ou_…`, which the
 * audit grammar reads as a Lark mention). Mentions before the first word address the bot and are dropped.
 */
export function withMentionIds(text: string, mentions: Record<string, unknown>[]): string {
  let out = text.trim().replace(/^(?:@_(?:user_\d+|all)\s*)+/, '');
  // Longest keys first: `@_user_1` is a prefix of `@_user_12`.
  const byKeyLength = [...mentions].sort((a, b) => String(b.key ?? '').length - String(a.key ?? '').length);
  for (const m of byKeyLength) {
    const key = typeof m.key === 'string' ? m.key : '';
    const id = m.id && typeof m.id === 'object' ? (m.id as Record<string, unknown>).open_id : undefined;
    if (key && typeof id === 'string' && /^ou_[A-Za-z0-9]+$/.test(id)) out = out.split(key).join(id);
  }
  return out.replace(/@_(?:user_\d+|all)/g, ' ').replace(/\s+/g, ' ').trim();
}
