// ava's configuration (here rather than in package.json because the file order is a function).
// Four test files run at a time on the 2-core CI machine: with two, the cores were about 12 % idle
// (files waiting on timers, FerretDB and child processes); with three, a CI run still used only about 63 %
// of the two cores' time (2026-12-03: 16.5 CPU-minutes in 13 minutes), so a fourth file fills the gaps. The suite's wall
// time is roughly its work divided by two, unless a long file starts late and runs alone at the end: so the files known to take longest start
// first (longest first is the classic greedy schedule), the rest follow in name order. Only an ordering:
// a file missing from or added to the list still runs.
const LONGEST_FIRST = [
  'audit-query', // 2,500 chained events; FerretDB scans the log for every query
  'bench-smoke', // every bench end to end, two processes each (about 2.5 minutes under load)
  'audit-crash', // worker processes killed and restarted 14 times
  'cluster-drills', // a Redis Cluster, two bots and two workers, drilled (test/scale/)
  'sentinel-drills',
  'scenarios/slack', // the shared scenario list, one platform per file, 1.5-2 minutes each
  'scenarios/lark',
  'scenarios/wecom',
  'scenarios/playground',
  'scenarios/dingtalk',
  'import',
  'admin-ops',
  'export-flow',
  'cross-platform',
  'e2e-playground',
  'audit-verify', // `custos audit verify` 19 times, 3 of them as a process
  'lark-abuse',
  'demo',
  'dingtalk', // a 1,008-request forged battery and a bot per test
  'sync-kingdee',
  'sync-sharecrm',
  'sync-suite-salesforce', // the shared connector suite: a crash-and-resume and a property test per connector
  'sync-suite-zoho',
  'sync-suite-jiandaoyun',
  'sync-suite-kingdee',
  'sync-suite-sharecrm',
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

export default {
  ...(compiled
    ? { files: [`${compiled}/test/**/*.test.js`], extensions: { js: true }, nodeArguments: ['--enable-source-maps'] }
    // tsx's ESM loader alone: the code is ESM throughout, and tsx's CommonJS hook (which every require()
    // inside mongoose, Bolt and the rest then passes through) costs each test process about 0.3 s of CPU.
    : { files: ['test/**/*.test.ts'], extensions: { ts: 'module' }, nodeArguments: ['--import=tsx/esm'] }),
  workerThreads: false,
  timeout: '120s',
  concurrency: 4,
  sortTestFiles: (a, b) => rank(a) - rank(b) || a.localeCompare(b),
};
