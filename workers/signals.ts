// Graceful stop of a long-running custos process (`custos start`, `custos demo`, workers/main.ts). Its
// own module, so a command can wire it up without loading the workers.
import type { Logger } from '../bot/logger.ts';

/** Runs `stop` once on the first SIGTERM / SIGINT, then exits. */
export function stopOnSignals(stop: () => Promise<void>, logger: Logger): void {
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down');
      stop().then(() => process.exit(0), (err: Error) => {
        logger.error({ err: { type: err.name } }, 'shutdown failed');
        process.exit(1);
      });
    });
  }
}
