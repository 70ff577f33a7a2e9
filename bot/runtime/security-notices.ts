// The security channel's notices for processes without a bot (the audit stream worker): the same
// channel and the same posting code as the bots' anomaly alerts (CUSTOS_SECURITY_CHANNEL on Slack,
// LARK_SECURITY_CHAT on Lark), with this process's own SDK clients (chat-routing.ts). Each notice goes
// to every configured security channel; a failed delivery is logged and does not stop the others.
import type { Config } from '../config.ts';
import type { NoticeView, SecurityNotices } from '../core/security/notices.ts';
import { postLarkSecurityNotice } from '../lark/security-cards.ts';
import type { Logger } from '../logger.ts';
import { postSlackSecurityNotice } from '../slack/security-handlers.ts';
import { chatClients } from './chat-routing.ts';

export function channelNotices(config: Config, logger: Logger): SecurityNotices | null {
  const clients = chatClients(config, logger);
  const targets: { platform: string; post: (view: NoticeView) => Promise<void> }[] = [];
  const slackChannel = config.securityChannel;
  const larkChat = config.lark?.securityChat;
  if (clients.slack && slackChannel) { const c = clients.slack; targets.push({ platform: 'slack', post: (v) => postSlackSecurityNotice(c, slackChannel, v) }); }
  if (clients.lark && larkChat) { const api = clients.lark; targets.push({ platform: 'lark', post: (v) => postLarkSecurityNotice(api, larkChat, v) }); }
  if (targets.length === 0) return null;
  return {
    async notice(view) {
      await Promise.all(targets.map((tg) => tg.post(view).catch((err: Error) => {
        logger.warn({ platform: tg.platform, err: { name: err.name, code: (err as { code?: unknown }).code } }, 'security notice: delivery failed');
      })));
    },
  };
}
