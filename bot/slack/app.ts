// Builds the Bolt app: HTTP mode with our verifying receiver (bot/http serves it), or Socket Mode with
// Bolt's SocketModeReceiver (no public URL; Slack authenticates the WebSocket with the app token).
// The Web API base URL is configurable (SLACK_API_URL: GovSlack, proxies, the tests' fake).
import { App, LogLevel, SocketModeReceiver, type Logger as BoltLogger } from '@slack/bolt';
import type { SlackSettings } from '../config.ts';
import type { ReadinessCheck } from '../http/server.ts';
import type { Logger } from '../logger.ts';
import { dedupeMiddleware, type Deduper } from './dedupe.ts';
import { registerSlackHandlers, type SlackHandlerDeps } from './handlers.ts';
import { pendingMiddleware, type SlackPendingAnswers } from './pending.ts';
import { errorSummary, SlackHttpReceiver, type SlackHttpReceiverOptions } from './receiver.ts';

export interface SlackApp {
  app: App;
  /** Present in HTTP mode: mount `receiver.handle` on POST /slack/events. */
  receiver: SlackHttpReceiver | undefined;
  /** Present in Socket Mode: ready while the WebSocket to Slack is connected (for /readyz). */
  connection: ReadinessCheck | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Registers more listeners on the app (audit queries, security cards, …): features outside the lookup flow. */
export type SlackFeature = (app: App) => void;

export function createSlackApp(settings: SlackSettings, deps: SlackHandlerDeps & { logger: Logger; deduper: Deduper; features?: SlackFeature[]; onAck?: SlackHttpReceiverOptions['onAck']; slackPending?: SlackPendingAnswers }): SlackApp {
  const logger = boltLogger(deps.logger);
  const clientOptions = {
    slackApiUrl: settings.apiUrl,
    retryConfig: { retries: settings.apiRetries, factor: 1.5, minTimeout: 200, maxTimeout: 2000 },
    timeout: 10_000,
  };
  let receiver: SlackHttpReceiver | undefined;
  let connection: ReadinessCheck | undefined;
  let app: App;
  // `convoStore: false`: Bolt's conversation store (context.conversation) is not used here, and its default
  // in-memory store rejected every event with a new Error (a captured stack trace per request).
  if (settings.mode === 'socket') {
    // Built here rather than by `socketMode: true`: Bolt hands the socket client only
    // `installerOptions.clientOptions`, so `apps.connections.open` would ignore SLACK_API_URL.
    const socket = new SocketModeReceiver({ appToken: settings.appToken ?? '', logger, installerOptions: { clientOptions } });
    app = new App({ token: settings.botToken, receiver: socket, logger, clientOptions, convoStore: false });
    connection = socketReadiness(socket);
  } else {
    if (!settings.signingSecret) throw new Error('SLACK_SIGNING_SECRET is required in http mode');
    receiver = new SlackHttpReceiver({ signingSecrets: [settings.signingSecret], logger: deps.logger, ...(deps.onAck ? { onAck: deps.onAck } : {}) });
    app = new App({ token: settings.botToken, receiver, logger, clientOptions, convoStore: false });
  }
  // The pending-answer entry is opened first: it is also how a redelivery is told apart (pending.ts).
  if (deps.slackPending) app.use(pendingMiddleware(deps.slackPending));
  app.use(dedupeMiddleware(deps.deduper, deps.logger));
  registerSlackHandlers(app, { ...deps, ...(deps.slackPending ? { pending: deps.slackPending.answers } : {}) });
  for (const feature of deps.features ?? []) feature(app);
  app.error(async (err) => {
    deps.logger.error({ err: errorSummary(err), code: err.code }, 'slack: unhandled listener error');
  });
  return {
    app,
    receiver,
    connection,
    // In HTTP mode start/stop are no-ops on our receiver; in Socket Mode they open / close the socket.
    start: async () => { await app.start(); },
    stop: async () => { await app.stop(); },
  };
}

/**
 * What of an SDK log line may be logged: the text before its payload. Bolt, the Web API client and the
 * Socket Mode client log request and response bodies, envelopes and errors at debug level
 * ("http request body: {…}", "Received a message on the WebSocket: {…}", "ack() response sent (body: …)"),
 * and those hold the cards we post and the queries users type: customer values. Pino's redaction works
 * on keys, not inside a message string, so the payload is cut off here, at every level.
 */
export function contentFree(message: string): string {
  const cut = message.search(/: |[{[]| \((?:body|data)\b/);
  return (cut >= 0 ? message.slice(0, cut) : message).trim().slice(0, 160);
}

/** Follows the Socket Mode client's state: connected from Slack's `hello` until it disconnects or reconnects. */
function socketReadiness(socket: SocketModeReceiver): ReadinessCheck {
  let connected = false;
  socket.client.on('connected', () => { connected = true; });
  for (const state of ['disconnected', 'reconnecting', 'disconnecting']) socket.client.on(state, () => { connected = false; });
  return {
    name: 'slack-socket',
    check: async () => { if (!connected) throw new Error('slack socket mode is not connected'); },
  };
}

/** Bolt's logger interface over pino; only the content-free part of each SDK message is kept. */
export function boltLogger(log: Logger): BoltLogger {
  let level: LogLevel = LogLevel.INFO;
  const child = log.child({ module: 'bolt' });
  const text = (msg: unknown[]) => contentFree(msg.map(String).join(' '));
  const emit = (write: (m: string) => void) => (...msg: unknown[]) => {
    const m = text(msg);
    if (m) write(m);
  };
  return {
    debug: emit((m) => child.debug(m)),
    info: emit((m) => child.info(m)),
    warn: emit((m) => child.warn(m)),
    error: (...msg: unknown[]) => child.error(msg.map((m) => (m instanceof Error ? m.name : contentFree(String(m)))).join(' ')),
    setLevel: (l: LogLevel) => { level = l; },
    getLevel: () => level,
    setName: () => undefined,
  };
}
