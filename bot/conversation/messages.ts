// The layer's own sentences, registered into the one catalogue (bot/core/messages.ts). A platform may
// say one its own way through its port's `sentences` (the playground names its inbox).
import { hasMessage, registerMessages } from '../core/messages.ts';

const entries = {
  'conversation.submitted': { 'zh-CN': '已提交申请 #{id}，等待审批：{approvers}。', en: 'Request #{id} submitted; waiting for: {approvers}.' },
};

// Idempotent across re-imports (tsx may load a module under two URLs in tests).
if (!hasMessage('conversation.submitted')) registerMessages(entries);
