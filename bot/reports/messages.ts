// The reports' words in zh-CN and en, in the one message catalogue (bot/core/messages.ts): column
// headers (`report.col.*`), categories (`report.cat.*`) and the HTML summary's sentences (`report.html.*`).
import { hasMessage, registerMessages, t, type Catalogue, type Locale } from '../core/messages.ts';

const columns: Record<string, [string, string]> = {
  time: ['时间 (UTC)', 'Time (UTC)'], seq: ['序号', 'Seq'], category: ['类别', 'Category'], action: ['审计动作', 'Audit action'],
  decision: ['决定', 'Decision'], employee: ['员工编号', 'Employee'], name: ['姓名', 'Name'], department: ['部门', 'Department'],
  platform: ['平台', 'Platform'], channel: ['会话类型', 'Channel'], fields: ['字段（结果）', 'Fields (outcome)'], rules: ['规则', 'Rules'],
  purpose: ['目的', 'Purpose'], approvers: ['审批人', 'Approvers'], approverNames: ['审批人姓名', 'Approver names'], grant: ['授权编号', 'Grant'],
  request: ['申请编号', 'Request'], export: ['导出编号', 'Export'], kind: ['类型', 'Kind'], id: ['编号', 'Id'],
  owners: ['数据所属部门', 'Owning departments'], scope: ['范围（字段组/字段）', 'Scope (groups / fields)'], customers: ['客户', 'Customers'],
  until: ['到期 / 行数', 'Expires / rows'], item: ['项目', 'Item'], value: ['值', 'Value'],
  checkpoint: ['检查点', 'Checkpoint'], lastSeq: ['覆盖至序号', 'Last seq'], count: ['记录数', 'Records'], signature: ['签名', 'Signature'],
  component: ['组件', 'Component'], version: ['策略版本', 'Policy version'], file: ['文件', 'File'], sha256: ['SHA-256', 'SHA-256'],
  inForce: ['状态', 'Status'], cycle: ['复核周期', 'Review cycle'], review: ['复核编号', 'Review'], grantee: ['被授权人', 'Grantee'],
  revoked: ['已撤销', 'Revoked'], subject: ['对象员工', 'Employee concerned'], how: ['方式', 'How'], customer: ['客户编号', 'Customer'],
  reference: ['请求编号', 'Request reference'], allowed: ['允许', 'Allowed'], denied: ['拒绝', 'Refused'], error: ['错误', 'Errors'],
  total: ['合计', 'Total'], rate: ['拒绝率', 'Refusal rate'], sha: ['SHA-256', 'SHA-256'], bytes: ['字节', 'Bytes'],
};

const categories: Record<string, [string, string]> = {
  viewed: ['查看', 'viewed'], revealed: ['揭示', 'revealed'], exported: ['导出', 'exported'], granted: ['获授权', 'granted access'],
  grantEnded: ['授权结束', 'grant ended'], requested: ['申请', 'requested'], refused: ['被拒绝', 'refused'], erased: ['删除', 'erased'],
  reported: ['报告', 'reported'], other: ['其他', 'other'],
};

const sentences: Record<string, [string, string]> = {
  'report.html.title': ['合规材料包', 'Compliance pack'],
  'report.html.period': ['期间：{period}', 'Period: {period}'],
  'report.html.generated': ['报告 {id} · 生成于 {at} · 接收人 {recipient}', 'Report {id} · generated {at} · for {recipient}'],
  'report.html.watermark': ['custos 报告 {id} · {recipient} · {at}', 'custos report {id} · {recipient} · {at}'],
  'report.html.summary': ['概要', 'Summary'],
  'report.html.chain': ['审计链校验与检查点签名', 'Audit chain verification and checkpoint signatures'],
  'report.html.policies': ['生效的策略文件版本', 'Policy file versions in force'],
  'report.html.reviews': ['访问复核结果', 'Access-review outcomes'],
  'report.html.freezes': ['冻结与解冻', 'Freezes and unfreezes'],
  'report.html.erasures': ['个人信息删除', 'Erasures'],
  'report.html.refusals': ['拒绝率', 'Rate of refusals'],
  'report.html.disclosures': ['内部披露登记（跨部门授权与导出）', 'Register of internal disclosures (cross-department grants and exports)'],
  'report.html.files': ['本材料包的文件', 'Files in this pack'],
  'report.html.none': ['本期间无记录。', 'Nothing in this period.'],
  'report.html.more': ['（另有 {n} 行，见 {file}）', '({n} more rows in {file})'],
  'report.html.footer': ['报告 {id} 结束 · 仅含编号，不含客户个人信息', 'End of report {id} · ids only, no customer personal data'],
  'report.sum.chain': ['审计链', 'Audit chain'],
  'report.sum.chainOk': ['完整：{events} 条记录', 'intact: {events} records'],
  'report.sum.chainBroken': ['损坏：序号 {seq} 处 {problem}', 'BROKEN at seq {seq}: {problem}'],
  'report.sum.checkpoint': ['最新检查点', 'Latest checkpoint'],
  'report.sum.checkpointLine': ['#{n} 覆盖至序号 {lastSeq}，签名 {sig}', '#{n} covers seq {lastSeq}, signature {sig}'],
  'report.sum.noCheckpoint': ['尚无检查点', 'no checkpoints yet'],
  'report.sum.policy': ['期末生效的策略版本', 'Policy version in force at the end'],
  'report.sum.policyUnknown': ['未记录（本期间及之前没有 policy.load 事件）', 'not recorded (no policy.load event in or before the period)'],
  'report.sum.policyLoads': ['策略加载次数', 'Policy loads'],
  'report.sum.reviews': ['访问复核：保留 / 撤销', 'Access reviews: kept / revoked'],
  'report.sum.freezes': ['冻结 / 解冻', 'Freezes / unfreezes'],
  'report.sum.erasures': ['删除', 'Erasures'],
  'report.sum.refusals': ['拒绝率（被拒绝 / 全部决定）', 'Refusal rate (refused / all decisions)'],
  'report.sum.disclosures': ['跨部门授权 / 导出', 'Cross-department grants / exports'],
  'report.sum.events': ['本期间审计事件', 'Audit events in the period'],
  'report.status.inForceAtStart': ['期初生效', 'in force at the start'],
  'report.status.loaded': ['期间内加载', 'loaded in the period'],
  'report.kind.grant': ['授权', 'grant'],
  'report.kind.export': ['导出', 'export'],
};

function build(): Catalogue {
  const out: Catalogue = {};
  for (const [k, [zh, en]] of Object.entries(columns)) out[`report.col.${k}`] = { 'zh-CN': zh, en };
  for (const [k, [zh, en]] of Object.entries(categories)) out[`report.cat.${k}`] = { 'zh-CN': zh, en };
  for (const [k, [zh, en]] of Object.entries(sentences)) out[k] = { 'zh-CN': zh, en };
  return out;
}

if (!hasMessage('report.html.title')) registerMessages(build());

export type ColumnKey = keyof typeof columns & string;

export function columnTitles(keys: readonly string[], locale: Locale): string[] {
  return keys.map((k) => t(`report.col.${k}`, locale));
}

export { t };
