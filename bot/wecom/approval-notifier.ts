// The approval flow's chat I/O on WeCom (the ApprovalNotifier port), shaped by WeCom's rule for button
// cards: a `button_interaction` card can be updated once, with a `response_code` (the one message/send
// returned, or a click's, which replaces it), within 72 hours. A copy is its text (title, lines, status)
// and its card of buttons. Every change arrives as a new text, so every reader sees who decided, when and
// why, as on Slack and Lark; the final state (approved, denied, expired, cancelled) also spends the
// card's code to grey out its buttons, so no copy is left clickable. A card's reference is its task_id
// (unique within the app, and what the click event names); its code is stored under it.
import type { RedisClient } from '../store/redis-client.ts';
import type { ApprovalNotifier } from '../core/approvals/service.ts';
import { revealCardView, type Revealed } from '../core/approvals/reveal-view.ts';
import type { AccessRequest, CardRef } from '../core/approvals/types.ts';
import type { Employee } from '../core/domain.ts';
import type { LookupService } from '../core/lookup.ts';
import type { ApprovalView } from '../core/views-approval.ts';
import type { Logger } from '../logger.ts';
import { WeComApiError, type WeComApi } from './api.ts';
import { clipBytes, finalLabel, LIMITS, renderApproval, renderView } from './render.ts';

/** WeCom honours a response_code for 72 hours; custos stops trusting it a little earlier. */
export const RESPONSE_CODE_TTL_SECONDS = 72 * 3600 - 600;

/** The Redis namespace of clicked cards' response codes: the click handler (runtime.ts) and every process's notifier (module.ts). */
export function wecomResponseCodes(queuePrefix: string): string {
  return `${queuePrefix}:wecom-rc`;
}

/** Response codes of clicked cards, by task_id: each used at most once (GETDEL), gone after 72 h. */
export class ResponseCodes {
  constructor(private readonly redis: RedisClient, private readonly namespace: string) {}

  async remember(taskId: string, code: string): Promise<void> {
    await this.redis.set(`${this.namespace}:${taskId}`, code, 'EX', RESPONSE_CODE_TTL_SECONDS);
  }

  /** The code, removed so it cannot be used twice; null when there is none (never clicked, used, expired). */
  take(taskId: string): Promise<string | null> {
    return this.redis.getdel(`${this.namespace}:${taskId}`);
  }
}

const FINAL = new Set<ApprovalView['status']['state']>(['approved', 'denied', 'expired', 'cancelled']);

export class WeComApprovalNotifier implements ApprovalNotifier {
  constructor(private readonly deps: { api: WeComApi; codes: ResponseCodes; logger: Logger; lookup?: LookupService }) {}

  async postCard(to: Employee, view: ApprovalView, role: CardRef['role']): Promise<CardRef | null> {
    const userId = to.chat.wecom;
    if (!userId) return null;
    const out = renderApproval(view);
    await this.deps.api.sendText(userId, out.text);
    if (!out.card) {
      // Buttons the codec refuses are left off (render.ts): an approver without them is a defect to see.
      if (view.buttons.length > 0) this.deps.logger.warn({ requestId: view.requestId, buttons: view.buttons.length }, 'wecom: an approval card lost every button; the approver got the text only');
      return { platform: 'wecom', channel: userId, ts: '', employeeId: to.employeeId, role };
    }
    const { responseCode } = await this.deps.api.sendCard(userId, out.card);
    if (responseCode) await this.deps.codes.remember(out.card.task_id, responseCode);
    return { platform: 'wecom', channel: userId, ts: out.card.task_id, employeeId: to.employeeId, role };
  }

  /** The new state as a text; at the final state the card's buttons greyed out too, when its code allows. */
  async updateCard(ref: CardRef, view: ApprovalView): Promise<void> {
    if (ref.platform !== 'wecom') return;
    const code = FINAL.has(view.status.state) && ref.ts ? await this.deps.codes.take(ref.ts) : null;
    if (code) {
      await this.deps.api.finishCard(ref.channel, code, finalLabel(view.status.state as 'approved', view.status.text)).catch((err: unknown) => {
        this.deps.logger.info({ code: err instanceof WeComApiError ? err.code : -1 }, 'wecom: card buttons not updatable; the outcome is in the text');
      });
    }
    await this.deps.api.sendText(ref.channel, renderApproval(view).text);
  }

  async tell(to: Employee, text: string): Promise<void> {
    if (to.chat.wecom) await this.deps.api.sendText(to.chat.wecom, clipBytes(text, LIMITS.textBytes));
  }

  /** A revealed field (or its re-masking) as a new message: a lookup's text message cannot be edited. */
  async showReveal(request: AccessRequest, requester: Employee, revealed: Revealed | null): Promise<void> {
    const userId = requester.chat.wecom;
    if (request.origin?.platform !== 'wecom' || !userId) return;
    const view = await revealCardView(this.deps.lookup, 'wecom', request, requester, revealed);
    if (view) await this.deps.api.sendText(userId, renderView(view).text);
  }
}
