// Loaded into every test process before its test file (ava.config.js `require`). Once ava is done with a
// file, its process should exit on its own; one that stays alive holds one of the suite's four slots
// meanwhile (stop 32 found 63 files doing so for 10 to 29 s: a worker's close leaving a 10 s sleep
// pending, a stopped bot retrying ledger writes), and one that never exits hangs the whole run — ava's own
// timeout does not cover it once a test has set `t.timeout()`. So a process still alive LINGER_MS after
// ava is done fails its file, saying what keeps it alive. The longest legitimate wait seen is ioredis's
// 2 s guard on a socket that does not close (a connection to a killed Redis node): four times that.
import { registerCompletionHandler } from 'ava';

const LINGER_MS = 8_000;

registerCompletionHandler(() => {
  setTimeout(() => {
    const alive = process.getActiveResourcesInfo().filter((r) => r !== 'PipeWrap' && r !== 'TTYWrap');
    process.stderr.write(`this test file's process was still running ${LINGER_MS / 1000} s after its last test; `
      + `what keeps it alive: ${alive.join(', ') || 'nothing listed (a pending stdio write?)'} — find the timer or client left open\n`);
    process.exit(1);
  }, LINGER_MS).unref();
});
