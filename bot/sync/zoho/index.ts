// CONNECTORS.zoho: the Zoho CRM connector built from its own settings (CUSTOS_SYNC_<SOURCE>_…), the
// mapping's `object` as the module (default Accounts), and a budget of _REQUESTS_PER_SECOND.
import { CustosError, ErrorCode } from '../../core/errors.ts';
import type { ConnectorContext } from '../setup.ts';
import type { Connector } from '../types.ts';
import { ZohoApi } from './api.ts';
import { ZohoConnector } from './connector.ts';
import { loadZohoSettings } from './settings.ts';

const MODULE_NAME = /^[A-Za-z][A-Za-z0-9_]{0,24}$/;

export function zohoConnector(ctx: ConnectorContext, fetchImpl?: typeof fetch): Connector {
  const settings = loadZohoSettings(ctx.source, ctx.env);
  const module = ctx.mapping.object ?? 'Accounts';
  if (!MODULE_NAME.test(module)) {
    throw new CustosError(ErrorCode.SyncMappingInvalid, `mapping of ${ctx.source}: object "${module}" is not a Zoho CRM module API name such as Accounts`, { source: ctx.source });
  }
  const api = new ZohoApi(ctx.source, settings, ctx.budget(settings.perSecond), ctx.clock, fetchImpl);
  return new ZohoConnector(ctx.source, module, ctx.mapping, api, ctx.clock, settings, ctx.logger);
}
