// Waiting in the fakes for something a client does (connects, pings, acknowledges): `until(done)` re-checks
// `done` whenever the fake calls `wake()` after recording something, and at least every 200 ms.
export class Waiting {
  private waiters: (() => void)[] = [];

  constructor(private readonly fake: string) {}

  wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  async until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.fake}: no ${what} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  }
}
