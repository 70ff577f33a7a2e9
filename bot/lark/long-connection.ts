// LARK_MODE=ws: the SDK's WSClient long connection (Lark authenticates the connection with the app id and
// secret; no public URL, no signatures). `WSClient.start()` returns before anything is connected and a
// refused app only reaches `onError`, so on its own a bot with wrong credentials would report ready and
// never see an event. Here start waits for the first connection and fails on a final refusal, and a
// readiness check reports the connection (503 while it is down or being re-established).
import * as lark from '@larksuiteoapi/node-sdk';
import { CustosError, ErrorCode } from '../core/errors.ts';

export interface LongConnection {
  /** Whether the WebSocket to Lark is up now (the runtime's `lark-connection` readiness check). */
  connected(): boolean;
  close(): Promise<void>;
}

export interface LongConnectionOptions {
  settings: { appId: string; appSecret: string; domain: string };
  dispatcher: lark.EventDispatcher;
  logger: lark.Logger;
}

/**
 * Connects and resolves once the first connection is up. While the endpoint is unreachable the SDK keeps
 * retrying and this keeps waiting (as Bolt's Socket Mode start does); a refusal the SDK treats as final
 * (wrong app id or secret, long connection not enabled for the app) rejects with ConfigInvalid.
 */
export async function startLongConnection(opts: LongConnectionOptions): Promise<LongConnection> {
  let settle: { ready: () => void; failed: () => void } | undefined;
  const first = new Promise<void>((resolve, reject) => {
    settle = {
      ready: resolve,
      failed: () => reject(new CustosError(ErrorCode.ConfigInvalid,
        'Lark refused the long connection; check LARK_APP_ID, LARK_APP_SECRET and LARK_DOMAIN, and that the app receives events through the long connection',
        { settings: ['LARK_APP_ID', 'LARK_APP_SECRET', 'LARK_DOMAIN'] })),
    };
  });
  const ws = new lark.WSClient({
    appId: opts.settings.appId, appSecret: opts.settings.appSecret, domain: opts.settings.domain,
    logger: opts.logger, loggerLevel: lark.LoggerLevel.warn, autoReconnect: true,
    // The SDK logs why (code and message) through our logger; the error we throw carries only our code.
    onReady: () => settle?.ready(), onError: () => settle?.failed(),
  });
  const close = async () => { ws.close({ force: true }); };
  try {
    await ws.start({ eventDispatcher: opts.dispatcher });
    await first;
  } catch (err) {
    await close();
    throw err;
  }
  return { connected: () => ws.getConnectionStatus().state === 'connected', close };
}
