// Lark-only sentences, registered into the one catalogue (bot/core/messages.ts) under `lark.*`.
import { hasMessage, registerMessages } from '../core/messages.ts';

const entries = {
  'lark.menu.lookup': {
    'zh-CN': '请直接发送要查询的内容，例如 `C-000123 purpose: 续约跟进`；在群聊中请先 @custos。',
    en: 'Send what to look up, e.g. `C-000123 purpose: renewal follow-up`; in a group, @mention custos first.',
  },
  'lark.working': { 'zh-CN': '正在处理，结果稍后更新到卡片。', en: 'Working on it; the card will update shortly.' },
  'lark.opened': { 'zh-CN': '已打开客户卡片。', en: 'Customer card opened.' },
};

// Idempotent across re-imports (tsx may load a module under two URLs in tests).
if (!hasMessage('lark.working')) registerMessages(entries);
