// A process that starts what holds a platform's chat (the background workers, the security channel's
// notices), posts a notice, waits until its stdin ends, then closes everything and returns WITHOUT
// process.exit: the process ends on its own only when nothing is left open (sockets, timers). Run by
// test/chat-shutdown.test.ts, which drives the workers meanwhile (a review cycle posts a card).
import { loadConfig } from '../../bot/config.ts';
import { streamLagView } from '../../bot/core/security/notices.ts';
import { createLogger } from '../../bot/logger.ts';
import { channelNotices } from '../../bot/runtime/security-notices.ts';
import { startWorkers, WORKER_CONFIG_SECTIONS } from '../../workers/main.ts';

const config = loadConfig(process.env, { require: [...WORKER_CONFIG_SECTIONS, 'crypto'] });
const logger = createLogger({ level: 'warn' });
const workers = await startWorkers(config, logger);
const notices = (await channelNotices(config, logger))!;
await notices.notice(streamLagView({ sink: 'splunk', lag: 40, threshold: 25, recovered: false, at: new Date() }, 'en'));
process.stdout.write('started\n');
process.stdin.resume();
await new Promise((r) => process.stdin.once('end', r));
await notices.close();
await workers.close();
process.stdout.write('stopped\n');
// Shown only if something still holds the process open (the timer itself does not).
setTimeout(() => process.stderr.write(`still open: ${JSON.stringify(process.getActiveResourcesInfo())}\n`), 10_000).unref();
