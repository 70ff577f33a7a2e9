// `custos start --only stream` (and plain `custos start` when a sink or an anchor is configured): its
// own database connection and the CUSTOS_STREAM_* settings, parsed by `custos start` with every other
// setting (bot/cli/commands/start.ts), so a stream problem is reported at start with the others.
import mongoose from 'mongoose';
import type { StreamSettings } from '../../bot/config-stream.ts';
import { section, type Config } from '../../bot/config.ts';
import type { Logger } from '../../bot/logger.ts';
import { channelNotices, type ChannelNotices } from '../../bot/runtime/security-notices.ts';
import { startStreamWorker, type RunningStream } from './worker.ts';

export const STREAM_CONFIG_SECTIONS = ['mongo'] as const;

export async function startStream(config: Config, logger: Logger, settings: StreamSettings): Promise<RunningStream> {
  const mongo = section(config, 'mongo');
  const conn = await mongoose.createConnection(mongo.uri, { dbName: mongo.db, autoIndex: false, serverSelectionTimeoutMS: 10_000 }).asPromise();
  let notices: ChannelNotices | null = null;
  try {
    const log = logger.child({ worker: 'stream' });
    // Lag alerts also go to the security channel(s) when a chat platform and its channel are configured.
    notices = await channelNotices(config, log);
    const stream = await startStreamWorker(conn, settings, log, notices ? { notices, locale: config.defaultLocale } : null);
    return {
      async close() {
        await stream.close();
        await notices?.close();
        await conn.close().catch(() => undefined);
      },
    };
  } catch (err) {
    await notices?.close();
    await conn.close().catch(() => undefined);
    throw err;
  }
}
