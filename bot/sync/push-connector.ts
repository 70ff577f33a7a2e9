// The connector of a push-only source: nothing to pull and no list of live ids to reconcile against —
// the sending system is the one that says what changed (POST /sync/v1/SOURCE/records).
import { CustosError, ErrorCode } from '../core/errors.ts';
import type { ChangePage, Connector, SourceRecord } from './types.ts';

export class PushOnlyConnector implements Connector {
  constructor(readonly source: string) {}

  async readChanges(cursor: string | null): Promise<ChangePage> {
    return { changes: [], nextCursor: cursor, done: true };
  }

  async readByIds(): Promise<SourceRecord[]> {
    throw new CustosError(ErrorCode.SyncSourceFailed, `${this.source} is a push source: custos cannot read its records; its system pushes them`, { source: this.source });
  }

  // eslint-disable-next-line require-yield -- a push source has no live id list; reconciliation is refused
  async *listLiveIds(): AsyncIterable<string[]> {
    throw new CustosError(ErrorCode.SyncSourceFailed, `${this.source} is a push source: it cannot be reconciled; push a full batch instead`, { source: this.source });
  }
}
