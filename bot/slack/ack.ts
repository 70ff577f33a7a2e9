// One Slack request's acknowledgement, with its deadline (after bolt-js `receivers/HTTPResponseAck.ts`).
// Slack waits 3 s for the HTTP answer. The receiver creates this when the request arrives; a listener
// acks through it (Bolt's `ack`), and a watchdog acks with an empty 200 at `deadline` for any listener
// that has not, so Slack never retries or shows an error because we were slow. A listener whose answer
// depends on work (a form's "already decided") asks `decideBy` how long it may wait for that work.
import type { ServerResponse } from 'node:http';

/** When the watchdog answers for a listener, counted from the request's arrival (Slack allows 3 s). */
export const ACK_DEADLINE_MS = 2500;
/** How long a listener may wait for an outcome it wants to put into the ack itself. */
export const DECIDE_BY_MS = 2000;

export interface AckRecord {
  /** Milliseconds from the request's arrival to the answer. */
  ms: number;
  /** Who answered: the receiver itself (a click), a listener, or the watchdog / a failure on their behalf. */
  by: 'receiver' | 'listener' | 'watchdog';
  status: number;
}

/** What a listener sees in Bolt's `context.ackDeadline`: when its answer must be ready. */
export interface AckDeadline {
  /** Epoch ms by which a listener that wants to answer with an outcome must have it. */
  decideBy: number;
  now(): number;
}

export class SlackAck implements AckDeadline {
  readonly decideBy: number;
  private done = false;
  private readonly watchdog: NodeJS.Timeout;

  constructor(
    private readonly res: ServerResponse,
    private readonly receivedAt: number,
    readonly now: () => number,
    private readonly onAck: (a: AckRecord) => void,
    onLate: () => void,
  ) {
    this.decideBy = receivedAt + DECIDE_BY_MS;
    this.watchdog = setTimeout(() => {
      if (this.done) return;
      onLate();
      this.write(200, '', 'watchdog');
    }, Math.max(0, receivedAt + ACK_DEADLINE_MS - now()));
  }

  get acknowledged(): boolean { return this.done; }

  /** Bolt's `ack`: an empty 200, a text, or a JSON body (a view_submission's `response_action`). */
  readonly ack = async (response?: unknown): Promise<void> => {
    if (response === undefined || response === '') this.write(200, '', 'listener');
    else if (typeof response === 'string') this.write(200, response, 'listener');
    else this.write(200, JSON.stringify(response), 'listener', 'application/json');
  };

  /** An answer that is not the listener's: the receiver's own (a click), or a failure. */
  answer(status: number, text: string, by: AckRecord['by'] = 'watchdog'): void {
    this.write(status, text, by);
  }

  private write(status: number, text: string, by: AckRecord['by'], type = 'text/plain; charset=utf-8'): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.watchdog);
    if (!this.res.headersSent) {
      this.res.writeHead(status, { 'content-type': type });
      this.res.end(text);
    }
    this.onAck({ ms: this.now() - this.receivedAt, by, status });
  }
}

/**
 * Answers a form with its outcome when the outcome is known by the deadline's `decideBy`; otherwise acks
 * (Slack closes the form) at that moment and hands the outcome, once known, to `late` to tell the user
 * in place. `work` must not throw (turn errors into outcomes).
 */
export async function answerByDeadline<T>(
  deadline: AckDeadline | undefined, work: Promise<T>, onTime: (outcome: T) => Promise<void>, closeNow: () => Promise<void>, late: (outcome: T) => Promise<void>,
): Promise<void> {
  const wait = deadline ? deadline.decideBy - deadline.now() : DECIDE_BY_MS;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<typeof LATE>((resolve) => { timer = setTimeout(() => resolve(LATE), Math.max(0, wait)); });
  const first = await Promise.race([work, expired]).finally(() => clearTimeout(timer));
  if (first !== LATE) return onTime(first as T);
  await closeNow();
  await late(await work);
}

const LATE = Symbol('late');

