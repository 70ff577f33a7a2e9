// A chat bot's one HTTP port (bot/http/server.ts: its routes beside /healthz and /readyz), listening on
// `host:port` and closed with the bot's services, the same for every adapter.
import type { AddressInfo } from 'node:net';
import type { Connection } from 'mongoose';
import type { EmployeeDirectory } from '../core/ports.ts';
import { closeServer, createHttpServer, listen, type ReadinessCheck, type Route } from '../http/server.ts';
import type { Logger } from '../logger.ts';
import type { BotServices } from './services.ts';

export interface Served { url: string; address: AddressInfo }

/** A started chat bot as its caller holds it (tests, `custos start`): where it listens (health endpoints in every mode), its database, its directory; closing it closes its services. */
export interface RunningChatBot<D extends EmployeeDirectory = EmployeeDirectory> extends Served {
  conn: Connection;
  directory: D;
  close(): Promise<void>;
}

export async function serveBot(services: Pick<BotServices, 'onClose'>, o: { routes: Route[]; readiness: ReadinessCheck[]; host: string; port: number; logger: Logger }): Promise<Served> {
  const server = createHttpServer(o);
  const address = await listen(server, o.host, o.port);
  services.onClose(() => closeServer(server));
  return { url: `http://${address.address}:${address.port}`, address };
}
