// The shared scenario list's runner. Each platform has its own test file (slack.test.ts, lark.test.ts,
// and one per further driver) that calls `registerScenarios` with its driver: the files run in parallel,
// each on one harness of its own. Every scenario runs on the driver, and what the users saw and the audit
// trail it left are compared with the scenario's entry in the committed golden file `expected.json`.
// Equality with one golden file is parity: a platform whose cards, replies or audit records differ from
// it differs from every other platform that passes. Ids and times are placeholders by then (the scenarios
// replace them), so the file holds only what must be the same everywhere.
//
// A scenario missing from the golden file fails. `SCENARIOS_RECORD=1` records instead: it writes this
// run's entries to expected.json (keeping the others, dropping names no longer in the list) and passes.
// Record with ONE platform's file (`SCENARIOS_RECORD=1 npx ava test/scenarios/slack.test.ts`), then run
// every platform's file without it: they must all match what was recorded, and `git diff` shows what a
// change did to what users see. Run whole files: scenarios build on the ones before them (the clock, live
// grants; the first one's trail starts with the bot's `policy.load`), so `--match` runs one out of context.
import { readFileSync, writeFileSync } from 'node:fs';
import type { ExecutionContext, TestFn } from 'ava';
import { demoEmployee } from '../../bot/store/demo-company.ts';
import { demoCustomers } from '../../bot/store/demo-data.ts';
import { APPROVAL_SCENARIOS } from './approvals.ts';
import { AUDIT_SCENARIOS } from './audit.ts';
import { CUSTOMERS, SEED, type PlatformDriver } from './driver.ts';
import { applies, LOOKUP_SCENARIOS, type GoldenEntry, type Scenario, type ScenarioContext } from './lookup.ts';
import { LOCALE_SCENARIOS } from './locale.ts';
import { REMINDER_SCENARIOS } from './reminders.ts';
import { REVEAL_SCENARIOS } from './reveal.ts';
import { REVIEW_SCENARIOS } from './reviews.ts';
import { SECURITY_SCENARIOS } from './security.ts';

/** The list, in the order it runs: later scenarios see the clock and the grants earlier ones left. */
export const SCENARIOS: Scenario[] = [
  ...LOOKUP_SCENARIOS, ...APPROVAL_SCENARIOS, ...REVEAL_SCENARIOS, ...LOCALE_SCENARIOS, ...AUDIT_SCENARIOS,
  ...SECURITY_SCENARIOS, ...REMINDER_SCENARIOS, ...REVIEW_SCENARIOS,
];

const GOLDEN = new URL('./expected.json', import.meta.url);
const RECORD = process.env.SCENARIOS_RECORD === '1';

type Golden = GoldenEntry;

function readGolden(): Record<string, Golden> {
  try {
    return JSON.parse(readFileSync(GOLDEN, 'utf8')) as Record<string, Golden>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
}

/** The seeded company as every driver seeds it (SEED, CUSTOMERS): scenarios pick their customers from it. */
export function scenarioContext(): ScenarioContext {
  return {
    customers: [...demoCustomers(CUSTOMERS, SEED)],
    employeeId: (k) => demoEmployee(k).employeeId,
    region: (k) => demoEmployee(k).region,
  };
}

/**
 * Registers one serial test per scenario, run on one driver (started once for the file). `scenario.todo`
 * names platforms whose driver does not run it yet: there it is a `test.todo`. A scenario that needs a
 * capability the driver lacks (`needs` / `lacks`: a team channel on WeCom) does not apply and is not
 * registered; the platform's file asserts which ones those are.
 */
export function registerScenarios(test: TestFn, driver: PlatformDriver, list: Scenario[] = SCENARIOS): void {
  const golden = readGolden();
  const recorded: Record<string, Golden> = {};
  const ctx = scenarioContext();

  test.before(async () => { await driver.start(); });
  test.after.always(async () => {
    await driver.close();
    if (RECORD && Object.keys(recorded).length > 0) writeGolden(list, recorded);
  });

  for (const scenario of list.filter((s) => applies(s, driver))) {
    if (scenario.todo?.includes(driver.platform)) {
      test.todo(`${scenario.name} (not yet on ${driver.platform})`);
      continue;
    }
    test.serial(scenario.name, async (t) => {
      t.timeout(scenario.timeoutMs ?? 300_000);
      // Through JSON, as the golden file holds it (a Map would compare as {}).
      const seen = JSON.parse(JSON.stringify(await scenario.run(driver, ctx))) as unknown;
      const trail = await driver.trailSince(scenario.auditRecords);
      t.is(trail.length, scenario.auditRecords, 'the audit records the scenario leaves');
      if (RECORD) {
        if (trail.length !== scenario.auditRecords) return; // a failing run is not recorded
        recorded[scenario.name] = { seen, trail };
        t.log(`recorded from ${driver.platform}`);
        return;
      }
      const want = golden[scenario.name];
      if (!want) return t.fail(`"${scenario.name}" is not in test/scenarios/expected.json: record it with SCENARIOS_RECORD=1 (see run.ts)`);
      t.deepEqual(seen, expectedSeen(t, list, scenario, golden, (s) => applies(s, driver) && !s.todo?.includes(driver.platform)), `what users see on ${driver.platform} is what the golden file holds`);
      t.deepEqual(trail, want.trail, `the audit trail on ${driver.platform} is the golden one, record by record`);
    });
  }
}

/**
 * What users must see in `scenario`: its golden entry's; for one that reads the audit records earlier
 * scenarios left (`fromHistory`), that entry as it reads after the earlier scenarios that ran here. The
 * derivation is first checked to give the golden entry after all of them, so it is held to the recording.
 */
function expectedSeen(t: ExecutionContext, list: Scenario[], scenario: Scenario, golden: Record<string, Golden>, ran: (s: Scenario) => boolean): unknown {
  const want = golden[scenario.name]!;
  if (!scenario.fromHistory) return want.seen;
  const before = list.slice(0, list.indexOf(scenario));
  const trails = (kept: Scenario[]) => kept.flatMap((s) => {
    const entry = golden[s.name];
    if (!entry) throw new Error(`"${s.name}" is not in the golden file: "${scenario.name}" is derived from its trail`);
    return entry.trail;
  });
  t.deepEqual(scenario.fromHistory(want, trails(before)), want.seen, 'derived from every earlier scenario\'s golden trail, the answer is the golden one');
  return scenario.fromHistory(want, trails(before.filter(ran)));
}

/** This run's entries over the file's, in list order; names no longer in the list are dropped. */
function writeGolden(list: Scenario[], recorded: Record<string, Golden>): void {
  const previous = readGolden();
  const next: Record<string, Golden> = {};
  for (const s of list) {
    const entry = recorded[s.name] ?? previous[s.name];
    if (entry) next[s.name] = entry;
  }
  // Entries of scenarios that exist only in a longer list (another file's) are kept, after these.
  for (const [name, entry] of Object.entries(previous)) if (!(name in next) && SCENARIOS.some((s) => s.name === name)) next[name] = entry;
  writeFileSync(GOLDEN, `${pretty(next, '')}\n`);
}

/** JSON with an array of plain values (a `label, value` pair, a row) or a small object on one line: a diff shows the line that changed. */
function pretty(value: unknown, indent: string): string {
  const flat = JSON.stringify(value);
  const inner = `${indent}  `;
  if (value === null || typeof value !== 'object' || flat.length <= 100 || (Array.isArray(value) && value.every((v) => v === null || typeof v !== 'object'))) return flat;
  if (Array.isArray(value)) return `[\n${value.map((v) => inner + pretty(v, inner)).join(',\n')}\n${indent}]`;
  const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) => `${inner}${JSON.stringify(k)}: ${pretty(v, inner)}`);
  return `{\n${entries.join(',\n')}\n${indent}}`;
}
