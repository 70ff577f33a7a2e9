// ava's configuration (here rather than in package.json because the file order is a function).
// Four test files run at a time on the 2-core CI machine: with two, the cores were about 12 % idle
// (files waiting on timers, FerretDB and child processes); with three, a CI run still used only about
// 63 % of the two cores' time (2026-12-03: 16.5 CPU-minutes in 13 minutes), so a fourth file fills the
// gaps. Five (2026-12-04) used 88 % of the cores and took 695 s against four's 717 s: within the noise,
// so four stay. The suite's wall time is roughly its work divided by two, unless a long file starts late
// and runs alone at the end: so the files known to take longest start first (longest first is the
// classic greedy schedule), the rest follow in name order. Only an ordering: a file missing from or
// added to the list still runs.
const LONGEST_FIRST = [
  // Measured 2026-12-04 (each file's wall time in a full run, four at a time): the longest first.
  'bench-smoke', // every bench end to end, two processes each (about 2 minutes)
  'audit-query', // 2,500 chained events; FerretDB scans the log for every query
  'audit-crash', // worker processes killed and restarted 14 times
  'export-property', // generated exports on real services (about 70 s)
  'admin-ops',
  'slack-failclosed', // these four mostly wait (audit queue and Redis timeouts, reconnects): started early,
  'lark-ws', //         their waits overlap the CPU-bound files instead of ending the run
  'slack-redis-hang',
  'anomaly',
  'cluster-drills', // a Redis Cluster, two bots and two workers, drilled (test/scale/)
  'sentinel-drills',
  'scenarios/dingtalk', // the shared scenario list, one platform per file
  'scenarios/lark',
  'scenarios/playground',
  'scenarios/slack',
  'scenarios/wecom',
  'lark-approvals',
  'sync-freshness',
  'offboard',
  'e2e-playground',
  'slack-audit-report',
  'audit-stream',
  'erasure-evidence',
  'detector-property',
  'approval-decisions',
  'wecom-flows',
  'lark-everywhere',
  'request-duplicates',
  'dingtalk-stream',
  'slack-socket',
];

const rank = (file) => {
  const i = LONGEST_FIRST.findIndex((name) => file.endsWith(`/${name}.test.ts`) || file.endsWith(`/${name}.test.js`));
  return i < 0 ? LONGEST_FIRST.length : i;
};

// `npm test` compiles the tests with the sources once (scripts/with-services.mjs --compiled-tests) and
// names the directory here: each test process then starts on plain JavaScript, without tsx's loader and
// on-the-fly transforms (about 1.5 s of CPU per process, ~140 processes on 2 cores). `npx ava FILE` runs
// the TypeScript sources through tsx, as before.
const compiled = process.env.CUSTOS_TEST_COMPILED;
// Fails a file whose process does not exit after its last test (test/helpers/exit-watchdog.ts).
const watchdog = compiled ? `${compiled}/test/helpers/exit-watchdog.js` : './test/helpers/exit-watchdog.ts';

export default {
  ...(compiled
    ? { files: [`${compiled}/test/**/*.test.js`], extensions: { js: true }, nodeArguments: ['--enable-source-maps'] }
    // tsx's ESM loader alone: the code is ESM throughout, and tsx's CommonJS hook (which every require()
    // inside mongoose, Bolt and the rest then passes through) costs each test process about 0.3 s of CPU.
    : { files: ['test/**/*.test.ts'], extensions: { ts: 'module' }, nodeArguments: ['--import=tsx/esm'] }),
  require: [watchdog],
  workerThreads: false,
  timeout: '120s',
  concurrency: 4,
  sortTestFiles: (a, b) => rank(a) - rank(b) || a.localeCompare(b),
};
