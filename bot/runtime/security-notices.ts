// The security channel's notices for processes without a bot (the audit stream worker, the sync lag
// watch): the same channel and the same posting code as the bots' anomaly alerts, reached through each
// configured platform's module (its securityNotice, e.g. CUSTOS_SECURITY_CHANNEL on Slack,
// LARK_SECURITY_CHAT on Lark). Each notice goes to every configured security channel; a failed
// delivery is logged and does not stop the others. The caller closes it when it stops: a module's chat
// may hold a connection of its own (DingTalk's card ledger, WeCom's response codes on Redis).
import type { Config } from '../config.ts';
import type { SecurityNotices } from '../core/security/notices.ts';
import type { Logger } from '../logger.ts';
import { PlatformChats, type ChatOptions } from './chat-routing.ts';

export interface ChannelNotices extends SecurityNotices { close(): Promise<void> }

/** null when no configured platform has a security channel (nothing is left open then). */
export async function channelNotices(config: Config, logger: Logger, opts: ChatOptions = {}): Promise<ChannelNotices | null> {
  const chats = new PlatformChats(config, logger, opts);
  const targets = await chats.part('securityNotice').catch(async (err: unknown) => { await chats.close(); throw err; });
  if (targets.length === 0) { await chats.close(); return null; }
  return {
    close: () => chats.close(),
    async notice(view) {
      await Promise.all(targets.map(([platform, post]) => post(view).catch((err: Error) => {
        logger.warn({ platform, err: { type: err.name, code: (err as { code?: unknown }).code } }, 'security notice: delivery failed');
      })));
    },
  };
}
