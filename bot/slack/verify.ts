// Slack request signature v0, checked over the raw body before anything parses it. Unlike Bolt's own
// check this rejects timestamps too far in the FUTURE as well as stale ones (a captured request signed
// with a clock-skewed future timestamp would otherwise replay for as long as the skew), rejects
// duplicated or malformed headers, and compares in constant time.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const MAX_SKEW_SECONDS = 300;

export type VerifyFailure = 'missing_headers' | 'bad_timestamp' | 'stale' | 'future' | 'bad_version' | 'bad_signature';

export interface VerifyInput {
  /** Current and (during a rotation) previous signing secrets; any one may match. */
  secrets: readonly string[];
  rawBody: Buffer;
  timestamp: string | string[] | undefined;
  signature: string | string[] | undefined;
  nowMs: number;
}

/** null when the request is authentic and fresh; otherwise why not (for logs and metrics only). */
export function verifySlackRequest(input: VerifyInput): VerifyFailure | null {
  const { timestamp, signature } = input;
  if (typeof timestamp !== 'string' || typeof signature !== 'string') return 'missing_headers';
  if (!/^\d{1,12}$/.test(timestamp)) return 'bad_timestamp';
  const skew = Number(timestamp) - Math.floor(input.nowMs / 1000);
  if (skew < -MAX_SKEW_SECONDS) return 'stale';
  if (skew > MAX_SKEW_SECONDS) return 'future';
  if (!/^v0=[0-9a-f]{64}$/.test(signature)) return 'bad_version';
  const given = Buffer.from(signature.slice(3), 'hex');
  let match = false;
  for (const secret of input.secrets) {
    const expected = createHmac('sha256', secret).update(`v0:${timestamp}:`).update(input.rawBody).digest();
    // Evaluate every secret (no early exit) so timing does not reveal which one matched.
    match = timingSafeEqual(expected, given) || match;
  }
  return match ? null : 'bad_signature';
}
