// Erasure asked in chat (issue 19): `erase C-000123 reason: DSR-2026-017`, typed after the lookup command
// on any platform (Slack `/customer erase …`, the Lark bot, the playground). Parsing and the answer are
// here, platform-neutral; the adapters only identify the user and show the sentence.
import { t } from '../messages.ts';
import type { Employee } from '../domain.ts';
import { approvalErrorText } from '../views-approval.ts';
import { askedApprovers } from './parts.ts';
import type { ApprovalService } from './service.ts';
import type { RequestOrigin } from './types.ts';

export interface EraseAsk { customerId: string; reference: string }

export function isEraseCommand(text: string): boolean {
  return /^\s*erase(\s|$)/i.test(text);
}

/** `erase C-000123 reason: REF` (also `reason REF` / `--reason REF`); null when it is not that shape. */
export function parseEraseCommand(text: string): EraseAsk | null {
  const m = /^\s*erase\s+(c-\d{6})\s+(?:--reason|reason:?)\s*(\S.*)$/i.exec(text.trim());
  return m ? { customerId: m[1]!.toUpperCase(), reference: m[2]!.trim() } : null;
}

/**
 * Makes the erasure request and says what happened, in the requester's locale: who was asked, or why not
 * (every refusal is recorded by requestErasure as a denied `customer.erase`). Nothing is erased here: the
 * approvers' decision does that.
 */
export async function askErasure(approvals: ApprovalService, requester: Employee, text: string, origin: RequestOrigin, contact: string, platformUserId?: string): Promise<{ ok: boolean; text: string }> {
  const ask = parseEraseCommand(text);
  const l = requester.locale;
  try {
    const request = await approvals.requestErasure(requester, ask, origin, platformUserId);
    const names = await approvals.names(request);
    return { ok: true, text: t('approval.erase.asked', l, { id: request.requestId, approvers: askedApprovers(request).map((id) => names.get(id) ?? id).join(', ') }) };
  } catch (err) {
    const refused = approvalErrorText(err, l, new Map(), contact, requester.timezone);
    if (refused === null) throw err;
    return { ok: false, text: ask ? refused : `${refused}\n${t('approval.erase.usage', l)}` };
  }
}
