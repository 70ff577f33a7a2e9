// Neutral view models: what a reply says, in the user's locale, with values already masked. Adapters
// render them (Block Kit in bot/slack, Lark cards in bot/lark) and add nothing but layout.
import './lookup-messages.ts';
import './approvals/messages.ts';
import { FIELD_GROUP_NAMES, groupOf, type CustomerField, type FieldGroup } from './domain.ts';
import { ErrorCode, isCustosError } from './errors.ts';
import { LookupRefused, type LookupResult, type ShareResult, type ShownCustomer } from './lookup.ts';
import { hasMessage, t, userMessage, type Locale } from './messages.ts';
import { valueLabel } from './value-labels.ts';
import { offHoursText } from './working-hours.ts';
import { localTime } from './local-time.ts';

export interface FieldView { field: CustomerField; label: string; value: string; masked: boolean }
export interface GroupView { group: FieldGroup; label: string; fields: FieldView[] }

export type View =
  | {
    kind: 'card';
    customerId: string;
    title: string; // customer id plus the (masked) name when visible
    groups: GroupView[];
    footer: string;
    /** Present when the asker may post an audience-masked copy into the channel. */
    share?: { label: string; value: string };
    /**
     * Approval requests the policy lets the viewer make from this card (issue 6): "Reveal <field>" for a
     * masked field, "Request access" for field groups. `value` is opaque; send it back unchanged.
     */
    requests?: { kind: 'reveal' | 'access'; label: string; value: string }[];
  }
  | { kind: 'pick'; intro: string; candidates: { customerId: string; summary: string; button: { label: string; value: string } }[] }
  | { kind: 'notice'; tone: 'info' | 'refusal' | 'error'; text: string }
  | { kind: 'help'; title: string; lines: string[] };

export function helpView(locale: Locale, contact: string): View {
  return {
    kind: 'help',
    title: t('lookup.help.title', locale),
    lines: [t('lookup.usage', locale), t('lookup.help.kinds', locale), t('lookup.help.where', locale),
      t('lookup.help.purpose', locale), t('lookup.help.requests', locale), t('lookup.help.contact', locale, { contact })],
  };
}

export function noticeView(text: string, tone: 'info' | 'refusal' | 'error' = 'info'): View {
  return { kind: 'notice', tone, text };
}

/** A lookup's answer for its asker: their language, grant times on their clock (`timezone`, named). */
export function lookupResultView(result: LookupResult, locale: Locale, timezone: string): View {
  switch (result.kind) {
    case 'none':
      return noticeView(result.idChecksum ? `${t(ErrorCode.NotFound, locale)} ${t('lookup.idChecksum', locale)}` : t(ErrorCode.NotFound, locale));
    case 'pick':
      return {
        kind: 'pick',
        intro: t(result.more ? 'lookup.pick.introMore' : 'lookup.pick.intro', locale, { count: result.candidates.length }),
        candidates: result.candidates.map((c) => ({
          customerId: c.customerId,
          summary: c.fields.map((f) => `${t(`field.${f.field}`, locale)}: ${displayValue(f.outcome.startsWith('mask:') ? f.value : valueLabel(f.field, f.value, locale))}`).join(' · '),
          button: { label: t('lookup.pick.button', locale), value: c.customerId },
        })),
      };
    case 'card':
      return cardView(result.customer, locale, timezone, t('lookup.card.footer', locale, { eventId: result.eventId }),
        result.shareable ? { label: t('lookup.share.button', locale), value: result.customer.customerId } : undefined);
  }
}

/** The card a channel reads: its language and zone are the deployment's, not one reader's. */
export function sharedCardView(result: ShareResult, locale: Locale, askerName: string, timezone: string): View {
  return cardView(result.customer, locale, timezone, t('lookup.card.footerShared', locale, { asker: askerName, eventId: result.eventId }), undefined);
}

const MAX_REVEAL_BUTTONS = 4;

/** Reveal buttons for masked fields in requestable groups, then one "Request access" button. */
function requestButtons(c: ShownCustomer, locale: Locale): { kind: 'reveal' | 'access'; label: string; value: string }[] {
  const groups = c.requestable ?? [];
  if (groups.length === 0) return [];
  const reveals = c.fields.filter((f) => f.outcome.startsWith('mask:') && groups.includes(groupOf(f.field))).slice(0, MAX_REVEAL_BUTTONS)
    .map((f) => ({ kind: 'reveal' as const, label: t('approval.button.reveal', locale, { field: t(`field.${f.field}`, locale) }), value: JSON.stringify({ c: c.customerId, f: f.field }) }));
  return [...reveals, { kind: 'access', label: t('approval.button.access', locale), value: JSON.stringify({ c: c.customerId }) }];
}

function grantFooter(c: ShownCustomer, locale: Locale, timezone: string): string {
  return (c.grants ?? []).map((g) => t('approval.grantFooter', locale, { grant: g.grantId, until: localTime(g.expiresAt, timezone) })).join('\n');
}

function cardView(c: ShownCustomer, locale: Locale, timezone: string, footer: string, share: { label: string; value: string } | undefined): View {
  const byGroup = new Map<FieldGroup, FieldView[]>();
  for (const f of c.fields) {
    const g = groupOf(f.field);
    const list = byGroup.get(g) ?? [];
    // The badge says what the reader sees: a mask that left the value whole (a loose name) is not "masked".
    const masked = f.outcome.startsWith('mask:') && !f.asIs;
    list.push({ field: f.field, label: t(`field.${f.field}`, locale), value: displayValue(masked ? f.value : valueLabel(f.field, f.value, locale)), masked });
    byGroup.set(g, list);
  }
  const groups = FIELD_GROUP_NAMES.filter((g) => byGroup.has(g)).map((g) => ({ group: g, label: t(`group.${g}`, locale), fields: byGroup.get(g)! }));
  const name = c.fields.find((f) => f.field === 'name');
  const requests = requestButtons(c, locale);
  const grants = grantFooter(c, locale, timezone);
  // Every renderer shows the footer as it is, so freshness is one more line of it on Slack, Lark and the playground.
  const fresh = c.freshness ? t('lookup.card.freshness', locale, { at: localTime(c.freshness.at, timezone), source: c.freshness.source }) : '';
  footer = [fresh, grants, footer].filter(Boolean).join('\n');
  return {
    kind: 'card',
    customerId: c.customerId,
    title: name ? `${c.customerId} · ${name.value}` : c.customerId,
    groups,
    footer,
    ...(share ? { share } : {}),
    ...(requests.length ? { requests } : {}),
  };
}

/** A deny reason code as a phrase when the catalogue has one, else the code itself. */
function reasonText(code: string, locale: Locale): string {
  return hasMessage(`lookup.reason.${code}`) ? t(`lookup.reason.${code}`, locale) : code;
}

/** An empty list or text still says "nothing here" rather than leaving the label dangling. */
export function displayValue(value: string): string {
  return value === '' ? '—' : value;
}

/** The view for any error of the lookup flow: refusals say why and whom to ask; others a safe sentence. */
export function errorView(err: unknown, locale: Locale, contact: string): View {
  if (err instanceof LookupRefused) {
    switch (err.reason) {
      case 'purpose_required': return noticeView(t('lookup.purposeRequired', locale), 'refusal');
      case 'purpose_pii': return noticeView(t('lookup.problem.purpose_pii', locale), 'refusal');
      case 'audience_denied': return noticeView(t(err.denyReason === 'member_purpose_required' ? 'lookup.share.purposeRequired' : 'lookup.share.denied', locale), 'refusal');
      case 'denied': {
        const reason = err.offHours ? offHoursText(err.offHours, locale) : reasonText(err.denyReason ?? 'no_rule', locale);
        return noticeView(t('lookup.denied', locale, { reason, contact }), 'refusal');
      }
    }
  }
  if (isCustosError(err, ErrorCode.QueryInvalid)) {
    const problem = String(err.details.problem ?? 'malformed');
    const usage = `${t(`lookup.problem.${problem}`, locale)} ${t('lookup.usage', locale)}`;
    return noticeView(t(ErrorCode.QueryInvalid, locale, { usage }), 'refusal');
  }
  if (isCustosError(err, ErrorCode.AuditUnavailable) || isCustosError(err, ErrorCode.EmployeeUnknown)
    || isCustosError(err, ErrorCode.EmployeeFrozen) || isCustosError(err, ErrorCode.EmployeeOffboarded)) {
    return noticeView(userMessage(err, locale, { contact }), 'refusal');
  }
  return noticeView(userMessage(err, locale), 'error');
}
