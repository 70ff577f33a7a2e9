// An API access token shared by concurrent callers and bought again shortly before it expires (DingTalk's
// and WeCom's token endpoints): one request at a time, whoever asks meanwhile waits for the same answer.
// `forget()` when the platform says the token was revoked or expired early; the next caller buys another.
export class TokenCache {
  private token: { value: string; until: number } | undefined;
  private pending: Promise<string> | undefined;

  /** `buy`: the platform's token request, with how long it lives; renewed `marginMs` before that. */
  constructor(private readonly buy: () => Promise<{ value: string; ttlMs: number }>, private readonly now: () => number, private readonly marginMs = 300_000) {}

  get(): Promise<string> {
    if (this.token && this.token.until > this.now()) return Promise.resolve(this.token.value);
    this.pending ??= this.buy().then(({ value, ttlMs }) => {
      this.token = { value, until: this.now() + Math.max(ttlMs - this.marginMs, 0) };
      return value;
    }).finally(() => { this.pending = undefined; });
    return this.pending;
  }

  forget(): void {
    this.token = undefined;
  }
}
