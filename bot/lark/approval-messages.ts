// Lark-only sentences of the approval flow (Lark has forms inside cards, not modals), registered into
// the one catalogue (bot/core/messages.ts) under `lark.approval.*`.
import { hasMessage, registerMessages } from '../core/messages.ts';

const entries = {
  'lark.approval.formSent': { 'zh-CN': '申请表已发送到您与 custos 的私聊，请填写后提交。', en: 'The request form is in your chat with custos; fill it in and submit.' },
  'lark.approval.submitted': { 'zh-CN': '已提交申请 #{id}，等待审批：{approvers}。', en: 'Request #{id} submitted; waiting for: {approvers}.' },
  'lark.approval.alreadySubmitted': { 'zh-CN': '此申请表已提交过，未重复创建申请。', en: 'This form was already submitted; no second request was created.' },
};

// Idempotent across re-imports (tsx may load a module under two URLs in tests).
if (!hasMessage('lark.approval.formSent')) registerMessages(entries);
