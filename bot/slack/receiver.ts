// Our own Bolt receiver for HTTP mode. It owns the order of operations Slack's rules need:
//   raw body (size-capped) → signature + timestamp window (401, nothing else happens) → parse → a body
//   that is no Slack payload at all (an empty form) is a 400 at once → url_verification / ssl_check →
//   app.processEvent with an ack (ack.ts) that writes the HTTP response once, before its deadline.
// The deadline is counted from the request's arrival and handed to listeners (`context.ackDeadline`);
// a watchdog acks with an empty 200 at 2.5 s for a listener that has not, and a request no listener
// acked is answered as soon as processing ends — never held until the watchdog.
// The HTTP server itself belongs to bot/http (health and readiness share the port).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App, Receiver } from '@slack/bolt';
import type { Logger } from '../logger.ts';
import { WorkLimiter } from '../runtime/work-limiter.ts';
import { SlackAck, type AckRecord } from './ack.ts';
import { verifySlackRequest } from './verify.ts';

export const SLACK_EVENTS_PATH = '/slack/events';
const BODY_LIMIT = 1024 * 1024;

export interface SlackHttpReceiverOptions {
  signingSecrets: readonly string[];
  logger: Logger;
  now?: () => number;
  /** Told of every answered payload (tests and the bench check answers against the deadline). */
  onAck?: (ack: AckRecord & { kind: string }) => void;
  /** How many clicks are worked on at once after their ack (default 8). */
  clickConcurrency?: number;
}

export class SlackHttpReceiver implements Receiver {
  private app: App | undefined;
  private readonly now: () => number;
  private readonly clicks: WorkLimiter;

  constructor(private readonly opts: SlackHttpReceiverOptions) {
    this.now = opts.now ?? Date.now;
    this.clicks = new WorkLimiter(opts.clickConcurrency ?? 8);
  }

  init(app: App): void { this.app = app; }
  // The server's lifecycle is bot/http's; Bolt's start/stop have nothing to do here.
  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  /** node:http handler for POST /slack/events. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const receivedAt = this.now();
    const raw = await readLimited(req, BODY_LIMIT);
    if (raw === null) return reply(res, 413, 'payload too large');
    const failure = verifySlackRequest({
      secrets: this.opts.signingSecrets,
      rawBody: raw,
      timestamp: req.headers['x-slack-request-timestamp'],
      signature: req.headers['x-slack-signature'],
      nowMs: this.now(),
    });
    if (failure) {
      this.opts.logger.warn({ failure }, 'slack: rejected an unverified request');
      return reply(res, 401, 'unauthorized');
    }
    const body = parseBody(raw, String(req.headers['content-type'] ?? ''));
    if (!body || !isSlackPayload(body)) return reply(res, 400, 'bad request');
    if (body.ssl_check !== undefined) return reply(res, 200, '');
    if (body.type === 'url_verification') return replyJson(res, { challenge: String(body.challenge ?? '') });
    if (!this.app) return reply(res, 503, 'not ready');
    await this.dispatch(body, req, res, receivedAt);
  }

  private async dispatch(body: Record<string, unknown>, req: IncomingMessage, res: ServerResponse, receivedAt: number): Promise<void> {
    const kind = payloadKind(body);
    const ack = new SlackAck(res, receivedAt, this.now, (a) => this.opts.onAck?.({ ...a, kind }),
      () => this.opts.logger.warn({ kind }, 'slack: listener did not ack in time; acknowledged on its behalf'));
    const retryNum = Number(req.headers['x-slack-retry-num']);
    const retryReason = req.headers['x-slack-retry-reason'];
    // A click (block_actions) is answered by an empty 200 whatever its listener does (its outcome goes
    // to the response_url), so it is acked here, before Bolt, and its work waits its turn in the limiter.
    const click = kind === 'block_actions';
    if (click) ack.answer(200, '', 'receiver');
    const process = () => this.app!.processEvent({
      body,
      ack: ack.ack,
      customProperties: { ackDeadline: ack },
      ...(Number.isInteger(retryNum) ? { retryNum } : {}),
      ...(typeof retryReason === 'string' ? { retryReason } : {}),
    });
    try {
      await (click ? this.clicks.run(process) : process());
      // Processing ended and nobody acked (no listener matched): nothing will, so answer now.
      ack.answer(200, '', 'receiver');
    } catch (err) {
      this.opts.logger.error({ err: errorSummary(err) }, 'slack: processing an event failed');
      ack.answer(500, 'error');
    }
  }
}

function readLimited(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) over = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(over ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Form bodies (commands; interactivity as `payload=`) or JSON (Events API). null when malformed. */
function parseBody(raw: Buffer, contentType: string): Record<string, unknown> | null {
  const text = raw.toString('utf8');
  try {
    if (contentType.includes('application/json')) {
      const v: unknown = JSON.parse(text);
      return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
    }
    if (contentType.includes('application/x-www-form-urlencoded')) {
      const form = Object.fromEntries(new URLSearchParams(text));
      if (typeof form.payload === 'string') {
        const v: unknown = JSON.parse(form.payload);
        return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
      }
      return form;
    }
  } catch {
    return null;
  }
  return null;
}

/** Something Slack sends: an event envelope, an interaction payload (`type`) or a slash command. */
function isSlackPayload(body: Record<string, unknown>): boolean {
  return typeof body.type === 'string' || typeof body.command === 'string' || body.ssl_check !== undefined;
}

/** The payload's kind for logs and ack records: `block_actions`, `view_submission`, `command`, `event_callback`, … */
function payloadKind(body: Record<string, unknown>): string {
  return typeof body.command === 'string' ? 'command' : String(body.type).slice(0, 40);
}

function reply(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(text);
}

function replyJson(res: ServerResponse, value: unknown): void {
  if (res.headersSent) return;
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}

/** Error name and code only: SDK messages may quote request content. */
// (`type`, not `name`: the logger redacts every `name` key as a possible customer name.)
export function errorSummary(err: unknown): { type: string; code?: string } {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { type: err.name, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { type: typeof err };
}
