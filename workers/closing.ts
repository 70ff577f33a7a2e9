// Closing the parts of a process one after another at shutdown, saying which one it waits for. A part
// that does not close (a BullMQ worker waiting on a job or a connection that never ends) kept a worker
// from exiting on SIGTERM for minutes in the cluster drill's rolling deploy, with nothing in its log to
// tell which part: each part is now logged as it begins closing, and again every STILL_MS while it has not.
import type { Logger } from '../bot/logger.ts';

const STILL_MS = 10_000;

/** Runs each part's close in order; the log says which part a shutdown is waiting on. */
export async function closeEach(logger: Logger, parts: readonly (readonly [string, (() => Promise<unknown>) | null | undefined])[]): Promise<void> {
  for (const [part, close] of parts) {
    if (!close) continue;
    logger.info({ part }, 'shutdown: closing');
    const started = Date.now();
    const still = setInterval(() => logger.warn({ part, ms: Date.now() - started }, 'shutdown: still closing'), STILL_MS);
    still.unref();
    try {
      await close();
    } finally {
      clearInterval(still);
    }
  }
}
