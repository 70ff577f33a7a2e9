// The set of chat platforms as one value: lookups that refuse an unknown id with a message naming the
// known ones, and the order in which a person is reached (the order of bot/platforms.ts). Built once
// from the modules there; tests build their own.
import { CustosError, ErrorCode } from '../core/errors.ts';
import { isPlatformId, type PlatformId } from '../core/platform-id.ts';
import type { MentionForm } from '../core/audit-query.ts';
import type { Config } from '../config.ts';
import type { PlatformModule } from './platform-module.ts';

export class PlatformRegistry {
  private readonly byId = new Map<PlatformId, PlatformModule>();

  constructor(modules: readonly PlatformModule[]) {
    for (const m of modules) {
      if (!isPlatformId(m.id)) throw new CustosError(ErrorCode.Internal, `platform module id "${m.id}" is not a platform id`, { platform: m.id });
      if (this.byId.has(m.id)) throw new CustosError(ErrorCode.Internal, `platform "${m.id}" is registered twice`, { platform: m.id });
      this.byId.set(m.id, m);
    }
  }

  /** Every module, in registry order (the order a person's platforms are tried in). */
  all(): readonly PlatformModule[] { return [...this.byId.values()]; }

  ids(): PlatformId[] { return [...this.byId.keys()]; }

  has(id: string): boolean { return this.byId.has(id); }

  /** The module of `id`; an unknown id is refused with the list of registered ones. */
  get(id: string): PlatformModule {
    const m = this.byId.get(id);
    if (!m) throw new CustosError(ErrorCode.ConfigInvalid, `unknown chat platform "${id}"; registered platforms: ${this.ids().join(', ')} (bot/platforms.ts)`, { platform: isPlatformId(id) ? id : '(malformed)' });
    return m;
  }

  /** Each module's mention form (PlatformModule.mention), in registry order: the audit query's `by @…`. */
  mentionForms(): MentionForm[] { return this.all().flatMap((m) => (m.mention ? [{ platform: m.id, pattern: m.mention }] : [])); }

  /** The modules this deployment configures, in registry order: from `config` when the caller has one (PlatformModule.configured). */
  configured(env: NodeJS.ProcessEnv, config?: Config): PlatformModule[] { return this.all().filter((m) => m.configured(env, config)); }
}
