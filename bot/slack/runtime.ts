// The Slack bot as a running component (`custos start`, `--only bot`): the shared services
// (bot/runtime/services.ts: database, policy engine, the fail-closed audit producer, Redis, the guarded
// lookup), the Bolt app with its features and the HTTP port with /slack/events, /metrics, /healthz and
// /readyz. Tests and the bench start it the same way, with a few seams (`overrides`) to
// count customer reads or point the audit producer at a dead Redis.
import type { AddressInfo } from 'node:net';
import type { Connection } from 'mongoose';
import { section, type Config } from '../config.ts';
import type { EmployeeDirectory } from '../core/ports.ts';
import type { MongoGrantStore } from '../store/grant-store.ts';
import type { Route } from '../http/server.ts';
import { serveBot } from '../runtime/serve.ts';
import type { Logger } from '../logger.ts';
import type { ApprovalService } from '../core/approvals/service.ts';
import { approvalQueues } from '../queue/approval-queues.ts';
import { buildServices, startOn, type ServiceOverrides } from '../runtime/services.ts';
import { serviceRoutes } from '../runtime/service-routes.ts';
import { createSlackApp } from './app.ts';
import { redisDeduper } from './dedupe.ts';
import { SLACK_EVENTS_PATH, type SlackHttpReceiverOptions } from './receiver.ts';
import { slackFlows } from './features.ts';
import { slackSecurity } from './security-runtime.ts';
import { acceptSlashCommand, slackResumer } from './pending.ts';
import { SealedAnswers } from '../runtime/sealed-answers.ts';

export const BOT_CONFIG_SECTIONS = ['mongo', 'redis', 'crypto', 'audit', 'slack'] as const;

export interface BotOverrides extends ServiceOverrides {
  /** Told of every answered Slack payload: how long after arrival, and who answered (tests, the bench). */
  onSlackAck?: SlackHttpReceiverOptions['onAck'];
}

export interface RunningBot {
  url: string; // http://host:port of the bot's HTTP server
  address: AddressInfo;
  conn: Connection;
  directory: EmployeeDirectory;
  /** The bot's grant store: what it stores or revokes is announced to every replica (grant-cache.ts). */
  grants: MongoGrantStore;
  close(): Promise<void>;
}

export async function startBot(config: Config, logger: Logger, overrides: BotOverrides = {}): Promise<RunningBot> {
  const slackSettings = section(config, 'slack');
  const redisSettings = section(config, 'redis');
  const secured = slackSecurity(config, logger);
  const services = await buildServices(config, logger, overrides, secured.alerts);
  const { conn, directory, lookup, recorder, clock } = services;
  return startOn(services, async () => {
    // The security channel's alert cards and offboarding (issue 8); the services behind clicks and forms:
    // approvals (issue 6), access reviews, security decisions, audit queries, dispatched by the layer.
    const queues = approvalQueues(redisSettings, redisSettings.queuePrefix, clock);
    let approvalService: ApprovalService | undefined;
    services.onClose(() => queues.close());
    const { flows, feature, close: closeFlows } = await slackFlows({
      services, conn, config, engine: services.engine, customers: services.customers, directory, grants: services.grants, lookup, recorder, clock, logger,
      exports: queues.exports, wakeUps: queues.wakeUps, exportWatch: services.security,
      onService: (approvals) => {
        approvalService = approvals;
        services.revoker.useCanceller((id, reason) => approvals.cancelAllOf(id, reason));
      },
    });
    services.onClose(closeFlows);
    const features = [secured.feature(services), feature];
    // Commands acknowledged by a bot that then died are finished by another replica (pending.ts).
    const slackPending = new SealedAnswers({
      platform: 'slack', redis: services.redis, prefix: redisSettings.keyPrefix, settings: config.pendingAnswers,
      sealer: services.cipher, clock, logger, accept: acceptSlashCommand,
    });
    const conversation = services.conversation.with(flows);
    const slack = createSlackApp(slackSettings, {
      conversation, logger, deduper: redisDeduper(services.redis, redisSettings.keyPrefix, logger), features, slackPending,
      ...(overrides.onSlackAck ? { onAck: overrides.onSlackAck } : {}),
    });
    slackPending.start(slackResumer(conversation, slack.app.client));
    services.onClose(async () => slackPending.stop());
    const routes: Route[] = slack.receiver ? [{ method: 'POST', path: SLACK_EVENTS_PATH, handler: (req, res) => slack.receiver!.handle(req, res) }] : [];
    // /metrics, SCIM and the CRM sync's routes, as on every bot (bot/runtime/service-routes.ts).
    routes.push(...await serviceRoutes(services, config, logger, { sync: overrides.sync, approvals: approvalService }));
    const readiness = slack.connection ? [...services.readiness, slack.connection] : services.readiness;
    const { url, address } = await serveBot(services, { routes, readiness, host: config.http.host, port: config.http.port, logger });
    await slack.start();
    services.onClose(() => slack.stop());
    logger.info({ mode: slackSettings.mode, port: address.port }, 'slack bot started');
    return { url, address, conn, directory, grants: services.grants, close: services.close };
  });
}
