// Builds the Bolt app: HTTP mode with our verifying receiver (bot/http serves it), or Socket Mode with
// Bolt's SocketModeReceiver (no public URL; Slack authenticates the WebSocket with the app token).
// The Web API base URL is configurable (SLACK_API_URL: GovSlack, proxies, the tests' fake).
import { App, LogLevel, SocketModeReceiver, type Logger as BoltLogger } from '@slack/bolt';
import type { SlackSettings } from '../config.ts';
import type { Logger } from '../logger.ts';
import { dedupeMiddleware, type Deduper } from './dedupe.ts';
import { registerSlackHandlers, type SlackHandlerDeps } from './handlers.ts';
import { errorSummary, SlackHttpReceiver } from './receiver.ts';

export interface SlackApp {
  app: App;
  /** Present in HTTP mode: mount `receiver.handle` on POST /slack/events. */
  receiver: SlackHttpReceiver | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Registers more listeners on the app (audit queries, security cards, …): features outside the lookup flow. */
export type SlackFeature = (app: App) => void;

export function createSlackApp(settings: SlackSettings, deps: SlackHandlerDeps & { deduper: Deduper; features?: SlackFeature[] }): SlackApp {
  const logger = boltLogger(deps.logger);
  const clientOptions = {
    slackApiUrl: settings.apiUrl,
    retryConfig: { retries: settings.apiRetries, factor: 1.5, minTimeout: 200, maxTimeout: 2000 },
    timeout: 10_000,
  };
  let receiver: SlackHttpReceiver | undefined;
  let app: App;
  if (settings.mode === 'socket') {
    // Built here rather than by `socketMode: true`: Bolt hands the socket client only
    // `installerOptions.clientOptions`, so `apps.connections.open` would ignore SLACK_API_URL.
    const socket = new SocketModeReceiver({ appToken: settings.appToken ?? '', logger, installerOptions: { clientOptions } });
    app = new App({ token: settings.botToken, receiver: socket, logger, clientOptions });
  } else {
    if (!settings.signingSecret) throw new Error('SLACK_SIGNING_SECRET is required in http mode');
    receiver = new SlackHttpReceiver({ signingSecrets: [settings.signingSecret], logger: deps.logger });
    app = new App({ token: settings.botToken, receiver, logger, clientOptions });
  }
  app.use(dedupeMiddleware(deps.deduper, deps.logger));
  registerSlackHandlers(app, deps);
  for (const feature of deps.features ?? []) feature(app);
  app.error(async (err) => {
    deps.logger.error({ err: errorSummary(err), code: err.code }, 'slack: unhandled listener error');
  });
  return {
    app,
    receiver,
    // In HTTP mode start/stop are no-ops on our receiver; in Socket Mode they open / close the socket.
    start: async () => { await app.start(); },
    stop: async () => { await app.stop(); },
  };
}

/** Bolt's logger interface over pino; Bolt's messages are operational, never user content. */
function boltLogger(log: Logger): BoltLogger {
  let level: LogLevel = LogLevel.INFO;
  const child = log.child({ component: 'bolt' });
  return {
    debug: (...msg: unknown[]) => child.debug(msg.map(String).join(' ')),
    info: (...msg: unknown[]) => child.info(msg.map(String).join(' ')),
    warn: (...msg: unknown[]) => child.warn(msg.map(String).join(' ')),
    error: (...msg: unknown[]) => child.error(msg.map((m) => (m instanceof Error ? m.name : String(m))).join(' ')),
    setLevel: (l: LogLevel) => { level = l; },
    getLevel: () => level,
    setName: () => undefined,
  };
}
