// CONNECTORS.jiandaoyun: the 简道云 connector built from its own settings and a budget of 30 requests/s.
import type { ConnectorContext } from '../setup.ts';
import type { Connector } from '../types.ts';
import { loadJdyConfig } from './config.ts';
import { JDY_RATE_PER_SECOND, JiandaoyunConnector } from './connector.ts';

export function jiandaoyunConnector(ctx: ConnectorContext): Connector {
  return new JiandaoyunConnector(ctx.source, loadJdyConfig(ctx.source, ctx.env), ctx.mapping, ctx.clock, ctx.budget(JDY_RATE_PER_SECOND));
}
