// The shared scenario list: what users do, written once and run on every chat platform through a
// PlatformDriver. Each scenario returns what the users saw (platform-neutral) and how many audit records
// it must leave; run.ts compares both with the golden file, record by record, on every platform.
import type { Customer } from '../../bot/core/domain.ts';
import type { DemoEmployeeKey } from '../../bot/store/demo-company.ts';
import type { Capability, PlatformDriver, SeenCard, TrailEntry } from './driver.ts';

/** A scenario's entry in the golden file: what users saw and the audit trail it left. */
export interface GoldenEntry { seen: unknown; trail: TrailEntry[] }

export interface ScenarioContext { customers: Customer[]; employeeId(key: DemoEmployeeKey): string; region(key: DemoEmployeeKey): string }

export interface Scenario {
  name: string;
  /** Audit records the scenario leaves, exactly (the driver waits for them before comparing; more is a failure). */
  auditRecords: number;
  /** Capabilities the scenario needs: it does not apply to a driver that lacks one. */
  needs?: Capability[];
  run(d: PlatformDriver, ctx: ScenarioContext): Promise<unknown>;
  /** Platforms whose driver cannot run it yet (a `test.todo` there); empty for Slack and Lark. */
  todo?: string[];
  /**
   * For a scenario whose answer reads the audit records earlier scenarios left (an audit query's rows, a
   * review card's count of lookups): what users see, derived from its golden entry and `earlier`, the
   * golden trails of the earlier scenarios that ran on this driver, in list order. After all of them it
   * must give the golden entry itself (run.ts checks that on every platform); where one did not run
   * (Share, on a platform without a team channel) it is what the driver is compared with.
   */
  fromHistory?(golden: GoldenEntry, earlier: TrailEntry[]): unknown;
  /** The scenario's time limit on a loaded machine (default 300 s). */
  timeoutMs?: number;
}

/** Whether `scenario` applies to the platform `d` drives. */
export function applies(scenario: Scenario, d: PlatformDriver): boolean {
  return !(scenario.needs ?? []).some((c) => d.lacks?.includes(c));
}

/** What is compared of a customer card (it has a title): every `label: value` line, Share offered or not; notices by their text. */
export function observed(card: SeenCard): unknown {
  return card.title
    ? { title: card.title, fields: [...card.fields], shareable: card.shareable }
    : { notice: card.text };
}

const PURPOSE = 'purpose: 续约跟进';
const DEPARTMENTS: DemoEmployeeKey[] = ['salesRep', 'supportAgent', 'financeClerk', 'legalCounsel', 'marketingStaff', 'ordersClerk', 'salesRepOverseas'];

function ownAccountOf(ctx: ScenarioContext, key: DemoEmployeeKey): Customer {
  const c = ctx.customers.find((x) => x.ownerId === ctx.employeeId(key) && x.phone && x.email);
  if (!c) throw new Error(`no account of ${key} in the seed`);
  return c;
}

export const LOOKUP_SCENARIOS: Scenario[] = [
  {
    name: 'lookup by customer id in a DM, for users of seven departments (with and without a purpose)',
    // Each department's lookup with a purpose (query, shown); marketing refused without one; support without one.
    auditRecords: DEPARTMENTS.length * 2 + 1 + 2,
    async run(d, ctx) {
      const c = ownAccountOf(ctx, 'salesRep');
      const out: unknown[] = [];
      for (const key of DEPARTMENTS) out.push([key, observed(await d.lookupInDm(key, `${c.customerId} ${PURPOSE}`))]);
      // Marketing must state a purpose: without one the lookup is refused.
      out.push(['marketingStaff', observed(await d.lookupInDm('marketingStaff', c.customerId))]);
      out.push(['supportAgent', observed(await d.lookupInDm('supportAgent', c.customerId))]);
      return out;
    },
  },
  {
    name: 'lookup by phone and by e-mail finds the owner\'s account with full contact details',
    auditRecords: 4,
    async run(d, ctx) {
      const c = ownAccountOf(ctx, 'salesRep');
      return [observed(await d.lookupInDm('salesRep', c.phone!)), observed(await d.lookupInDm('salesRep', c.email!.toUpperCase()))];
    },
  },
  {
    name: 'a customer outside the user\'s scope gives "no customer you may see" and no hint',
    auditRecords: 1,
    async run(d, ctx) {
      const other = ctx.customers.find((x) => x.region !== ctx.region('salesRepNorth') && x.ownerId !== ctx.employeeId('salesRepNorth'))!;
      return observed(await d.lookupInDm('salesRepNorth', other.customerId));
    },
  },
  {
    name: 'help and malformed queries answer without reading anything',
    auditRecords: 0,
    async run(d) {
      return [observed(await d.lookupInDm('supportAgent', 'purpose:'))];
    },
  },
  {
    name: 'share in the team channel: the asker keeps their view, the channel gets its least-privileged member\'s',
    auditRecords: 4,
    needs: ['teamChannel'],
    async run(d, ctx) {
      const c = ownAccountOf(ctx, 'salesRep');
      const { own, shared } = await d.shareInTeam('salesRep', c.customerId);
      return { own: observed(own), shared: observed(shared) };
    },
  },
];
