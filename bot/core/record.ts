// "Record, then show" in one step: the fail-closed rule of DESIGN.md as a function. The data path
// (`show`: read customers, render the card) runs only after the audit event was accepted by the queue;
// when recording fails, `show` never runs and the caller gets CustosError(AuditUnavailable) to turn into
// the refusal message (`userMessage(err, locale)`).
import type { AuditEventInput, AuditRecorder } from './audit.ts';
import { CustosError, ErrorCode, isCustosError } from './errors.ts';

export async function recordThenShow<T>(recorder: AuditRecorder, event: AuditEventInput, show: () => Promise<T> | T): Promise<T> {
  try {
    await recorder.record(event);
  } catch (err) {
    // An invalid event is a programming error and keeps its own code; anything else means "not recorded".
    if (isCustosError(err, ErrorCode.AuditEventInvalid) || isCustosError(err, ErrorCode.AuditUnavailable)) throw err;
    throw new CustosError(ErrorCode.AuditUnavailable, 'the audit event could not be recorded', {}, { cause: err });
  }
  return show();
}
