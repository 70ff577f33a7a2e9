// Work a bot starts after it has answered the platform (DingTalk, WeCom and Lark answer a callback at
// once and reply later through the API), kept track of so shutdown and tests can wait for all of it.
// A failure is logged (ids only) and handed to `onError`, e.g. to forget a delivery id so the platform's
// redelivery is processed.
import type { Logger } from '../logger.ts';

export class BackgroundWork {
  private readonly pending = new Set<Promise<unknown>>();

  /** `label`: the log line's prefix (`dingtalk`); `describe`: the error's safe name (never its message). */
  constructor(private readonly logger: Logger, private readonly label: string, private readonly describe: (err: unknown) => string = (err) => (err instanceof Error ? err.name : typeof err)) {}

  run(work: () => Promise<void>, onError?: (err: unknown) => Promise<void> | void): Promise<void> {
    const p: Promise<void> = work().catch(async (err: unknown) => {
      this.logger.error({ err: this.describe(err) }, `${this.label}: background work failed`);
      await onError?.(err);
    }).finally(() => { this.pending.delete(p); });
    this.pending.add(p);
    return p;
  }

  /** Waits for every piece of work started so far, and for any they start in turn. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
