#!/usr/bin/env node
// `node scripts/with-services.mjs -- CMD ARGS…`: start Redis and a MongoDB wire server (unless REDIS_URL /
// MONGODB_URI are set), run CMD with those URLs in its environment, stop the services afterwards — also
// when CMD fails or the run is interrupted — and exit with CMD's status.
// `node scripts/with-services.mjs --foreground`: start them, print the URLs, run until Ctrl-C.
// `--prefer-postgres` (before `--`; `npm run bench` passes it): run FerretDB on the local PostgreSQL
// server when it answers, since FerretDB-on-SQLite scans the collection for every non-_id filter.
// `--build-js` (before `--`; `npm test` passes it): compile the sources to JavaScript once and name the
// directory in CUSTOS_TEST_JS_DIR, for tests that start custos as a process (build-test-js.mjs).
// `--compiled-tests` (with `--build-js`; `npm test` passes it): the test files are compiled too and ava
// runs them from that directory (ava.config.js reads CUSTOS_TEST_COMPILED); a `test/X.test.ts` argument
// (`npm test -- test/X.test.ts`) is turned into its compiled file.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { buildTestJs, removeTestJs } from './build-test-js.mjs';
import { startServices } from './services.mjs';

const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const own = dash >= 0 ? argv.slice(0, dash) : argv;
const foreground = own.includes('--foreground');
const preferPostgres = own.includes('--prefer-postgres');
const compiledTests = own.includes('--compiled-tests');
const buildJs = compiledTests || own.includes('--build-js');
let cmd = dash >= 0 ? argv.slice(dash + 1) : [];
if (!foreground && cmd.length === 0) {
  process.stderr.write('usage: with-services.mjs [--prefer-postgres] --foreground | with-services.mjs [--prefer-postgres] [--build-js] -- COMMAND [ARGS…]\n');
  process.exit(2);
}

let services;
let jsDir;
try {
  if (buildJs) jsDir = await buildTestJs({ tests: compiledTests });
} catch (err) {
  process.stderr.write(`build-test-js: ${err.message}\n`);
  process.exit(1);
}
try {
  services = await startServices({ preferPostgres });
} catch (err) {
  if (jsDir) removeTestJs(jsDir);
  process.stderr.write(`services: ${err.message}\n`);
  process.exit(1);
}

let stopping = false;
async function finish(code) {
  if (stopping) return;
  stopping = true;
  await services.stop().catch((e) => process.stderr.write(`services: stop failed: ${e.message}\n`));
  if (jsDir) removeTestJs(jsDir);
  process.exit(code);
}

if (foreground) {
  process.stdout.write(`REDIS_URL=${services.env.REDIS_URL}\nMONGODB_URI=${services.env.MONGODB_URI}\nCUSTOS_MONGO_BACKEND=${services.env.CUSTOS_MONGO_BACKEND}\n`);
  process.stdout.write('services are running; press Ctrl-C to stop them\n');
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => finish(0));
} else {
  // `npm run bench -- NAME` / `npm test -- FILE` append their arguments after ours.
  const testEnv = {
    ...(jsDir ? { CUSTOS_TEST_JS_DIR: jsDir } : {}),
    ...(compiledTests ? { CUSTOS_TEST_COMPILED: path.relative(process.cwd(), jsDir) } : {}),
  };
  if (compiledTests) cmd = cmd.map((a) => (/\.test\.ts$/.test(a) ? path.join(path.relative(process.cwd(), jsDir), a.replace(/\.ts$/, '.js')) : a));
  const child = spawn(cmd[0], cmd.slice(1), { stdio: 'inherit', env: { ...process.env, ...services.env, ...testEnv } });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => { child.kill(sig); setTimeout(() => finish(130), 10000).unref(); });
  }
  child.on('exit', (code, signal) => finish(code ?? (signal ? 128 : 1)));
  child.on('error', (err) => { process.stderr.write(`services: cannot run ${cmd[0]}: ${err.message}\n`); finish(127); });
}
