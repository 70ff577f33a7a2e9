// The playground's own approval commands: `audit report …` (a report file the DPO approves, opened as
// the same request form the chat adapters show) and the `pending` list of the asker's own waiting
// requests. Everything else — request forms, decisions, audit queries and pages, export and erasure
// requests — goes through the conversation layer like on Slack and Lark; where Slack posts to a DM, the
// approval service writes into the employee's playground inbox (inbox.ts).
import type { ApprovalService } from '../core/approvals/service.ts';
import { reportRequestTarget } from '../core/audit-report-command.ts';
import type { AccessRequest, RequestTarget } from '../core/approvals/types.ts';
import type { AuditTableView } from '../core/audit-query-views.ts';
import type { Employee } from '../core/domain.ts';
import { t, userMessage } from '../core/messages.ts';
import { noticeView, type View } from '../core/views.ts';
import { approvalErrorText, requestFormView, targetText, type ApprovalView, type DenyForm, type RequestForm } from '../core/views-approval.ts';
import { encodeFormMetadata } from '../conversation/codec.ts';
import type { ChannelKind } from '../../policies/types.ts';

export type PlaygroundView = View | ApprovalView | RequestForm | DenyForm | AuditTableView;

export interface ApprovalForm { purpose?: string; duration?: string; groups?: string[]; reason?: string; metadata?: string }

export interface ApprovalFlowDeps {
  approvals: ApprovalService;
  securityContact: string;
}

export class PlaygroundApprovalFlow {
  constructor(private readonly deps: ApprovalFlowDeps) {}

  /** `audit report …` typed in the box: the request form for the report (an audit export the DPO decides). */
  async openReport(employee: Employee, auditText: string, channel: ChannelKind): Promise<PlaygroundView> {
    const l = employee.locale;
    const asked = reportRequestTarget(auditText);
    if (!asked) return noticeView(t('approval.report.usage', l), 'refusal');
    try {
      const prepared = await this.deps.approvals.prepare(employee, asked, channel);
      const target = prepared.target as Extract<RequestTarget, { kind: 'audit-export' }>;
      // The layer's own metadata: the form is submitted through the layer like every other.
      return requestFormView(prepared, targetText(target, l), l, encodeFormMetadata({ target, channelKind: channel, channel: 'playground' }));
    } catch (err) {
      const text = approvalErrorText(err, l, new Map(), this.deps.securityContact, employee.timezone);
      return text ? noticeView(text, 'refusal') : noticeView(userMessage(err, l, { contact: this.deps.securityContact }), 'error');
    }
  }

  /** The employee's own requests still waiting for a decision, one short line each. */
  async pendingOf(employee: Employee): Promise<string[]> {
    const mine = await this.deps.approvals.deps.requests.pendingOf(employee.employeeId);
    return mine.map((r) => `${r.requestId} (${targetText(targetOf(r), employee.locale)})`);
  }
}

/** What a stored request asked for, as the form's summary names it. */
function targetOf(r: AccessRequest): RequestTarget {
  if (r.kind === 'export') return { kind: 'export', segment: r.segment ?? { conditions: {}, customerIds: r.customerIds }, fields: r.fields };
  if (r.kind === 'audit-export') return { kind: 'audit-export', query: r.auditQuery ?? '' };
  if (r.kind === 'reveal') return { kind: 'reveal', customerId: r.customerIds[0] ?? '', field: r.fields[0]! };
  return { kind: 'access', customerId: r.customerIds[0] ?? '', groups: r.groups };
}
