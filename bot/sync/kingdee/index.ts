// CONNECTORS.kingdee: the 金蝶云星空 connector built from its own settings and its request budget.
import type { ConnectorContext } from '../setup.ts';
import type { Connector } from '../types.ts';
import { KingdeeConnector } from './connector.ts';
import { loadKingdeeSettings } from './settings.ts';

export function kingdeeConnector(ctx: ConnectorContext): Connector {
  const settings = loadKingdeeSettings(ctx.source, ctx.env);
  return new KingdeeConnector(ctx.source, settings, ctx.mapping, ctx.budget(settings.perSecond));
}
