// Chat I/O across platforms, shared by the workers and every bot so that card copies stay in step: each
// person is reached on the first configured platform they are bound to (in bot/platforms.ts order),
// each card copy is updated on the platform it was posted to, and a reveal is shown on the platform it
// was asked from — whichever process (a bot, a worker, the CLI) acts. The platforms come from the
// registry (their modules' chat()), never from an adapter imported here: a bot passes its own SDK
// client as `own`, every other configured platform gets a client of this process's own. With one
// platform configured the routing has one target and behaves as that platform's notifier alone.
import type { Config } from '../config.ts';
import type { ApprovalNotifier } from '../core/approvals/service.ts';
import type { AccessRequest, CardRef } from '../core/approvals/types.ts';
import type { Revealed } from '../core/approvals/reveal-view.ts';
import type { Employee } from '../core/domain.ts';
import type { LookupService } from '../core/lookup.ts';
import type { PlatformId } from '../core/platform-id.ts';
import type { ReviewNotifier } from '../core/reviews/service.ts';
import type { ReviewCardRef } from '../core/reviews/types.ts';
import type { ReviewCardView } from '../core/reviews/views.ts';
import type { ApprovalView } from '../core/views-approval.ts';
import type { Logger } from '../logger.ts';
import { PLATFORMS } from '../platforms.ts';
import { ownSettings, type ChatContext, type ExportDelivery, type PlatformChat } from './platform-module.ts';
import type { PlatformRegistry } from './platform-registry.ts';

export type PerPlatform<T> = Partial<Record<PlatformId, T>>;

export interface ChatOptions {
  lookup?: LookupService;
  /** The calling bot's own client for its own platform (see ChatContext.own). */
  own?: ChatContext['own'];
  /** This process's Redis (ChatContext.redis), so a module that keeps state there needs no connection of its own. */
  redis?: ChatContext['redis'];
  env?: NodeJS.ProcessEnv;
  registry?: PlatformRegistry;
}

/**
 * The configured platforms' chat, loaded on first use (a module loads its SDK inside chat()), so the
 * routing notifiers below can be built synchronously wherever a service is built.
 */
export class PlatformChats {
  private readonly loaded: Promise<{ id: PlatformId; chat: PlatformChat }[]>;

  /** Throws a module's ConfigInvalid at once: each configured module's own settings are parsed here. */
  constructor(config: Config, logger: Logger, opts: ChatOptions = {}) {
    const registry = opts.registry ?? PLATFORMS;
    const ctx: Omit<ChatContext, 'settings'> = {
      config, logger, env: opts.env ?? process.env,
      ...(opts.lookup ? { lookup: opts.lookup } : {}), ...(opts.own ? { own: opts.own } : {}),
      ...(opts.redis ? { redis: opts.redis } : {}),
    };
    const modules = registry.configured(ctx.env, config)
      .map((m) => ({ m, settings: ownSettings(m) ? m.settings(ctx.env) : undefined }));
    this.loaded = Promise.all(modules.map(async ({ m, settings }) => ({ id: m.id, chat: await m.chat({ ...ctx, settings }) })));
    // Awaited by every use; this keeps a failure from being reported as unhandled before the first one.
    this.loaded.catch(() => undefined);
  }

  /** One part of every configured platform's chat, in registry order. */
  async part<K extends Exclude<keyof PlatformChat, 'close'>>(key: K): Promise<[PlatformId, NonNullable<PlatformChat[K]>][]> {
    const out: [PlatformId, NonNullable<PlatformChat[K]>][] = [];
    for (const { id, chat } of await this.loaded) {
      const v = chat[key];
      if (v) out.push([id, v as NonNullable<PlatformChat[K]>]);
    }
    return out;
  }

  async close(): Promise<void> {
    const all = await this.loaded.catch(() => []);
    await Promise.all(all.map((p) => p.chat.close?.()));
  }
}

/** The chat platforms this deployment uses (registry order): the workers that talk to people need one. */
export function chatPlatforms(config: Config, env: NodeJS.ProcessEnv = process.env, registry: PlatformRegistry = PLATFORMS): PlatformId[] {
  return registry.configured(env, config).map((m) => m.id);
}

/** What reaches `e`: the first of `by` (registry order) on whose platform they are bound. */
export function reach<T>(by: readonly [PlatformId, T][], e: Employee): T | undefined {
  return by.find(([p]) => Boolean(e.chat[p]))?.[1];
}

function on<T>(by: readonly [PlatformId, T][], platform: PlatformId | undefined): T | undefined {
  return by.find(([p]) => p === platform)?.[1];
}

export function routedApprovalNotifier(chats: PlatformChats): ApprovalNotifier {
  return new RoutingNotifier(() => chats.part('approvals'));
}

export function routedReviewNotifier(chats: PlatformChats): ReviewNotifier {
  return new RoutingReviewNotifier(() => chats.part('reviews'));
}

export function routedDelivery(chats: PlatformChats): ExportDelivery {
  return new RoutingDelivery(() => chats.part('delivery'));
}

type Targets<T> = () => Promise<[PlatformId, T][]>;

export class RoutingNotifier implements ApprovalNotifier {
  constructor(private readonly by: Targets<ApprovalNotifier>) {}
  async postCard(to: Employee, view: ApprovalView, role: CardRef['role']): Promise<CardRef | null> { return (await reach(await this.by(), to)?.postCard(to, view, role)) ?? null; }
  async updateCard(ref: CardRef, view: ApprovalView): Promise<void> { await on(await this.by(), ref.platform)?.updateCard(ref, view); }
  async tell(to: Employee, text: string): Promise<void> { await reach(await this.by(), to)?.tell(to, text); }
  async showReveal(request: AccessRequest, requester: Employee, revealed: Revealed | null): Promise<void> {
    await on(await this.by(), request.origin?.platform)?.showReveal(request, requester, revealed);
  }
}

/** Review cards go to the reviewer's first bound platform; a settled card is patched where it was posted. */
export class RoutingReviewNotifier implements ReviewNotifier {
  constructor(private readonly by: Targets<ReviewNotifier>) {}
  async post(to: Employee, view: ReviewCardView): Promise<ReviewCardRef | null> { return (await reach(await this.by(), to)?.post(to, view)) ?? null; }
  async update(ref: ReviewCardRef, view: ReviewCardView): Promise<void> { await on(await this.by(), ref.platform)?.update(ref, view); }
  async tell(to: Employee, text: string): Promise<void> { await reach(await this.by(), to)?.tell(to, text); }
}

/** An export goes to the requester's first bound platform that delivers files. */
class RoutingDelivery implements ExportDelivery {
  constructor(private readonly by: Targets<ExportDelivery>) {}
  private async to(e: Employee): Promise<ExportDelivery> {
    const d = reach(await this.by(), e);
    if (!d) throw new Error('requester has no chat identity on a configured platform');
    return d;
  }
  async start(to: Employee, text: string): Promise<unknown> { const d = await this.to(to); return { d, inner: await d.start(to, text) }; }
  async progress(handle: unknown, text: string): Promise<void> { const h = handle as { d: ExportDelivery; inner: unknown }; await h.d.progress(h.inner, text); }
  async upload(to: Employee, file: string, filename: string, title: string): Promise<string | undefined> { return (await this.to(to)).upload(to, file, filename, title); }
}
