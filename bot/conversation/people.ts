// Who the people of a turn are: the asker (identified, refusals recorded), the locale to answer them
// in, and each member of the conversation as a principal for the audience rule. One rule per identity
// kind (IdentityRule in types.ts), for every platform and every interaction — the place that used to
// exist once per adapter and handler, and had drifted.
import type { Employee } from '../core/domain.ts';
import { CustosError, ErrorCode } from '../core/errors.ts';
import {
  isIdentityRefusal, localeFor, mostRestrictedPrincipal, principalOf, recordIdentityRefusal, requireActive, resolveEmployee,
  type ChatProfile,
} from '../core/identity.ts';
import type { Locale } from '../core/messages.ts';
import type { ChatPlatform, EmployeeDirectory } from '../core/ports.ts';
import type { RefusalDeps, RefusedInteraction } from '../core/refusals.ts';
import type { Principal } from '../../policies/types.ts';
import type { ConversationPort, Turn } from './types.ts';

export interface PeopleDeps { directory: EmployeeDirectory; refusals: RefusalDeps; defaultLocale: Locale }

/** The outcome of identifying the asker: the employee, or the (recorded) refusal and the locale to explain it in. */
export type Identified = { ok: true; employee: Employee } | { ok: false; refusal: CustosError; locale: Locale };

/** What an identity refusal is recorded with, besides who and why. */
export interface IdentifyFor { interaction: RefusedInteraction; requestId?: string }

/**
 * The people of one turn. Profiles are read from the platform at most once per user per turn, and
 * only when needed (an unbound user; the locale of a user custos does not know).
 */
export class TurnPeople {
  private readonly profiles = new Map<string, Promise<ChatProfile>>();

  constructor(private readonly deps: PeopleDeps, readonly turn: Turn, readonly port: ConversationPort) {}

  /** The asker as an active employee; an identity refusal is recorded and returned, anything else throws. */
  async identify(why: IdentifyFor): Promise<Identified> {
    try {
      return { ok: true, employee: await this.resolve(this.turn.userId) };
    } catch (err) {
      if (!isIdentityRefusal(err)) throw err;
      await recordIdentityRefusal(this.deps.refusals, err, {
        platform: this.turn.platform, platformUserId: this.turn.userId, interaction: why.interaction,
        correlationId: this.turn.correlationId, ...(why.requestId ? { requestId: why.requestId } : {}),
      });
      return { ok: false, refusal: err, locale: await this.localeOf(this.turn.userId) };
    }
  }

  /** The locale to answer `userId` in: their employee's, else the platform's for them, else the default. */
  async localeOf(userId: string): Promise<Locale> {
    const known = await this.known(userId).catch(() => null);
    if (known) return known.locale;
    if (this.port.identity === 'picked') return this.deps.defaultLocale;
    const profile = await this.profile(userId).catch((): ChatProfile => ({}));
    return localeFor(null, profile.locale, this.deps.defaultLocale);
  }

  /** The employee already bound to `userId`, without matching or binding anyone (refusal records). */
  known(userId: string): Promise<Employee | null> {
    const platform = this.chatPlatform();
    return platform ? this.deps.directory.byChatId(platform, userId) : this.deps.directory.byId(userId);
  }

  /**
   * Every other member of the conversation as a principal, by the same rule as the asker (a member who
   * never used custos is matched by e-mail once); anyone not an active employee counts as the most
   * restricted, so an unknown member can only make the audience view stricter.
   */
  async audience(asker: Employee): Promise<Principal[]> {
    const members = await this.port.members(this.turn.conversationId);
    const skip = new Set([this.turn.userId, asker.employeeId, ...(this.port.botUserId ? [this.port.botUserId] : [])]);
    const others = [...new Set(members)].filter((m) => !skip.has(m));
    const principals = await Promise.all(others.map(async (m) => {
      try {
        return principalOf(await this.resolve(m));
      } catch (err) {
        if (isIdentityRefusal(err)) return mostRestrictedPrincipal(m);
        throw err;
      }
    }));
    return [principalOf(asker), ...principals];
  }

  private async resolve(userId: string): Promise<Employee> {
    const platform = this.chatPlatform();
    if (platform) return resolveEmployee(this.deps.directory, platform, userId, () => this.profile(userId));
    const employee = await this.deps.directory.byId(userId);
    if (!employee) throw new CustosError(ErrorCode.EmployeeUnknown, 'picked user is not a known employee', { reason: 'no_employee' });
    return requireActive(employee);
  }

  private profile(userId: string): Promise<ChatProfile> {
    let p = this.profiles.get(userId);
    if (!p) {
      p = this.port.profile(userId);
      this.profiles.set(userId, p);
    }
    return p;
  }

  /** The platform whose chat ids the directory binds; null for picked identities (the playground). */
  private chatPlatform(): ChatPlatform | null {
    if (this.port.identity === 'picked') return null;
    return this.turn.platform;
  }
}
