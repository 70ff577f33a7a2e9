// Bounded concurrency for work done after a chat payload was answered (both adapters use it).
/**
 * At most `limit` pieces of work at once; the rest wait their turn in order. Work after an ack (a click's
 * decision) goes through this, so a burst of clicks cannot fill the event loop and starve the acks of
 * the requests arriving behind them.
 */
export class WorkLimiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await work();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}
