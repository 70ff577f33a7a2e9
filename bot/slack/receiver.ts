// Our own Bolt receiver for HTTP mode. It owns the order of operations Slack's rules need:
//   raw body (size-capped) → signature + timestamp window (401, nothing else happens) → parse →
//   url_verification / ssl_check → app.processEvent with an `ack` that writes the HTTP response.
// A watchdog acks with an empty 200 before Slack's 3-second deadline if a listener has not, so Slack
// never retries because we were slow; listeners keep running and reply through the Web API.
// The HTTP server itself belongs to bot/http (health and readiness share the port).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App, Receiver } from '@slack/bolt';
import type { Logger } from '../logger.ts';
import { verifySlackRequest } from './verify.ts';

export const SLACK_EVENTS_PATH = '/slack/events';
const BODY_LIMIT = 1024 * 1024;
const ACK_DEADLINE_MS = 2500;

export interface SlackHttpReceiverOptions {
  signingSecrets: readonly string[];
  logger: Logger;
  now?: () => number;
}

export class SlackHttpReceiver implements Receiver {
  private app: App | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: SlackHttpReceiverOptions) {
    this.now = opts.now ?? Date.now;
  }

  init(app: App): void { this.app = app; }
  // The server's lifecycle is bot/http's; Bolt's start/stop have nothing to do here.
  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  /** node:http handler for POST /slack/events. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
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
    if (!body) return reply(res, 400, 'bad request');
    if (body.ssl_check !== undefined) return reply(res, 200, '');
    if (body.type === 'url_verification') return replyJson(res, { challenge: String(body.challenge ?? '') });
    if (!this.app) return reply(res, 503, 'not ready');
    await this.dispatch(body, req, res);
  }

  private async dispatch(body: Record<string, unknown>, req: IncomingMessage, res: ServerResponse): Promise<void> {
    let acked = false;
    const ack = async (response?: unknown): Promise<void> => {
      if (acked) return;
      acked = true;
      clearTimeout(watchdog);
      if (response === undefined || response === '') reply(res, 200, '');
      else if (typeof response === 'string') reply(res, 200, response);
      else replyJson(res, response);
    };
    const watchdog = setTimeout(() => {
      if (!acked) this.opts.logger.warn('slack: listener did not ack in time; acknowledged on its behalf');
      void ack();
    }, ACK_DEADLINE_MS);
    const retryNum = Number(req.headers['x-slack-retry-num']);
    const retryReason = req.headers['x-slack-retry-reason'];
    try {
      await this.app!.processEvent({
        body,
        ack,
        ...(Number.isInteger(retryNum) ? { retryNum } : {}),
        ...(typeof retryReason === 'string' ? { retryReason } : {}),
      });
    } catch (err) {
      this.opts.logger.error({ err: errorSummary(err) }, 'slack: processing an event failed');
      if (!acked) {
        acked = true;
        clearTimeout(watchdog);
        reply(res, 500, 'error');
      }
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
