// CONNECTORS.sharecrm: the 纷享销客 connector built from its own settings (CUSTOS_SYNC_<SOURCE>_…), the
// mapping's `object` as the object's apiName (default AccountObj), and a budget of _REQUESTS_PER_SECOND.
import { CustosError, ErrorCode } from '../../core/errors.ts';
import type { ConnectorContext } from '../setup.ts';
import type { Connector } from '../types.ts';
import { ShareCrmClient } from './client.ts';
import { ShareCrmConnector } from './connector.ts';
import { loadShareCrmSettings } from './settings.ts';

const API_NAME = /^[A-Za-z][A-Za-z0-9_]{0,79}$/;

export function shareCrmConnector(ctx: ConnectorContext, fetchImpl?: typeof fetch): Connector {
  const settings = loadShareCrmSettings(ctx.source, ctx.env);
  const object = ctx.mapping.object ?? 'AccountObj';
  if (!API_NAME.test(object)) {
    throw new CustosError(ErrorCode.SyncMappingInvalid, `mapping of ${ctx.source}: object "${object}" is not a 纷享销客 object apiName such as AccountObj`, { source: ctx.source });
  }
  const client = new ShareCrmClient(ctx.source, settings, ctx.budget(settings.perSecond), ctx.clock, fetchImpl);
  return new ShareCrmConnector(ctx.source, object, ctx.mapping, client, settings.pageSize);
}
