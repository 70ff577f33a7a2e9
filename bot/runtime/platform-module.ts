// What a chat platform adapter offers the rest of custos: ONE module object per adapter folder
// (bot/<platform>/module.ts), listed once in bot/platforms.ts. Everything here is platform-neutral:
// bot/runtime, bot/core, bot/conversation and workers/ reach a platform only through this interface
// (test/dependencies.test.ts keeps it so). A module file must stay cheap to import: SDKs and the bot
// itself are loaded inside start() / chat(), so `custos start --only worker` loads no chat SDK.
import type { Config, ConfigSection } from '../config.ts';
import type { SyncConfig } from '../config-sync.ts';
import type { ApprovalNotifier } from '../core/approvals/service.ts';
import type { Employee } from '../core/domain.ts';
import type { LookupService } from '../core/lookup.ts';
import type { RedisClient } from '../store/redis-client.ts';
import type { PlatformId } from '../core/platform-id.ts';
import type { ReviewNotifier } from '../core/reviews/service.ts';
import type { NoticeView } from '../core/security/notices.ts';
import type { Logger } from '../logger.ts';

export interface Running { close(): Promise<void> }

/**
 * What `custos start` parsed for a bot before any part started (one error lists every problem), handed
 * to its start() so nothing is read from the environment again: the module's own settings (what its
 * settings() returned) and the CRM sync's, for the push and webhook routes a bot mounts on its HTTP server.
 */
export interface BotSettings { own: unknown; sync: SyncConfig }

/** An export's file and progress in the requester's chat (the export worker's port). */
export interface ExportDelivery {
  start(to: Employee, text: string): Promise<unknown>;
  progress(handle: unknown, text: string): Promise<void>;
  upload(to: Employee, file: string, filename: string, title: string): Promise<string | undefined>;
}

/**
 * The platform's outgoing chat, for any process that needs it (its own bot, another platform's bot, the
 * workers). Each part is optional: a platform that has no review cards yet leaves `reviews` out, and
 * the routing skips it. A new notifier (e.g. a security-alert card) is one more field here and one line
 * in the module that builds it.
 */
export interface PlatformChat {
  approvals?: ApprovalNotifier;
  reviews?: ReviewNotifier;
  /** Posts a notice to this platform's security channel; absent when none is configured. */
  securityNotice?: (view: NoticeView) => Promise<void>;
  delivery?: ExportDelivery;
  /** Releases what chat() opened (a connection of its own); called when the process stops. */
  close?: () => Promise<void>;
}

export interface ChatContext {
  config: Config;
  env: NodeJS.ProcessEnv;
  /**
   * The module's own settings, parsed by its settings() when the routing was built (at its component's
   * start, so a bad one is reported then, not at the first card); undefined when they are a shared
   * section of `config` (ownSettings).
   */
  settings: unknown;
  logger: Logger;
  /** Lets a re-mask at grant expiry show the whole card again, masked (without it: the title alone). */
  lookup?: LookupService;
  /** This process's Redis, when it has one (a module that keeps state there opens its own otherwise). */
  redis?: RedisClient;
  /**
   * The calling bot's own SDK client for its own platform (Bolt's app.client, the Lark bot's client),
   * so its settings and logger apply. Opaque outside the module whose id it names.
   */
  own?: { platform: PlatformId; client: unknown };
}

/** Whether a module parses settings of its own (DingTalk's) rather than a shared section loadConfig checks (Slack's). */
export function ownSettings(m: PlatformModule): boolean {
  return !(m.requires as readonly string[]).includes(m.id);
}

export interface PlatformModule {
  /** The platform's id, as audit events, card references and employees' chat maps record it. */
  readonly id: PlatformId;
  /** The `custos start --only` name (default: the id). */
  readonly component?: string;
  /**
   * Whether this deployment uses the platform, decided without loading its SDK: from `config` when the
   * caller has one (Slack's and Lark's settings are in it), else from the environment.
   */
  configured(env: NodeJS.ProcessEnv, config?: Config): boolean;
  /** The shared configuration sections its bot needs (bot/config.ts). */
  readonly requires: readonly ConfigSection[];
  /**
   * Its own settings, parsed from the environment with zod: throws one CustosError(ConfigInvalid)
   * listing every problem. Slack's and Lark's still live in bot/config.ts and are read from there.
   */
  settings(env: NodeJS.ProcessEnv): unknown;
  /** Runs its bot (receiver, handlers, the shared services) until close(), on settings parsed at start. */
  start(config: Config, logger: Logger, settings: BotSettings): Promise<Running>;
  /** Its outgoing chat; only called when configured(ctx.env, ctx.config). */
  chat(ctx: ChatContext): Promise<PlatformChat>;
  /**
   * How a person is mentioned in text typed on this platform, as the text reaches custos: a pattern over
   * one whole word whose group 1 is the person's user id here (the audit query's `by @…` resolves it
   * through the employees' chat-id map). Absent: its mentions cannot name a person in a query.
   */
  readonly mention?: RegExp;
  /** Where its test kit lives (fake platform API and signed-request driver), relative to the repository. */
  readonly testkit: readonly string[];
}
