// The requester's own lookup card with a revealed field in place (after a reveal is approved) or masked
// again (at grant expiry), as every adapter shows it on the card the reveal was asked from.
import type { CustomerField, Employee } from '../domain.ts';
import type { LookupService } from '../lookup.ts';
import { t } from '../messages.ts';
import type { ChatPlatform } from '../ports.ts';
import { lookupResultView, type View } from '../views.ts';
import { when } from '../views-approval.ts';
import type { AccessRequest } from './types.ts';
import type { Reader } from '../local-time.ts';

export interface Revealed { field: CustomerField; value: string; grantId: string; until: Date }

/** The requester's card as a new lookup would show it (itself audited), with `revealed` in place. */
export async function revealCardView(lookup: LookupService | undefined, platform: ChatPlatform, request: AccessRequest, requester: Employee, revealed: Revealed | null): Promise<View | null> {
  const customerId = request.customerIds[0];
  if (!customerId) return null;
  let view: View = { kind: 'card', customerId, title: customerId, groups: [], footer: '' };
  const platformUserId = requester.chat[platform];
  if (lookup && platformUserId) {
    try {
      const result = await lookup.lookup(
        { employee: requester, platform, platformUserId, channel: request.origin?.channelKind ?? 'dm' },
        { kind: 'id', value: customerId }, undefined,
      );
      view = lookupResultView(result, requester.locale, requester.timezone);
    } catch {
      // e.g. a purpose is required for lookups: show the revealed field alone
    }
  }
  return revealed ? withRevealed(view, revealed, requester) : view;
}

/** The card with the revealed field's value in place (and a line saying under which grant, until when). */
export function withRevealed(view: View, revealed: Revealed, reader: Reader): View {
  if (view.kind !== 'card') return view;
  const { locale } = reader;
  const label = t('approval.revealed', locale, { field: t(`field.${revealed.field}`, locale), grant: revealed.grantId, until: when(revealed.until, reader.timezone) });
  let placed = false;
  const groups = view.groups.map((g) => ({
    ...g,
    fields: g.fields.map((f) => {
      if (f.field !== revealed.field) return f;
      placed = true;
      return { ...f, label, value: revealed.value, masked: false };
    }),
  }));
  if (!placed) groups.push({ group: 'profile', label: label, fields: [{ field: revealed.field, label, value: revealed.value, masked: false }] });
  return { ...view, groups };
}
