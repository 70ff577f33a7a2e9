// The Lark SDK's logger over ours. Every SDK client and the long connection log through this, so what the
// SDK says reaches pino, cut to its operational head: its messages may quote event payloads, message
// content or response bodies, which key-based redaction cannot see.
import type * as lark from '@larksuiteoapi/node-sdk';
import type { Logger } from '../logger.ts';

/**
 * The operational head of an SDK message, without what follows a JSON body or a `data:` / `body:` /
 * `content:` part (event payloads, message content): kept are things like "[ws] code: 514, auth failed".
 */
export function larkContentFree(message: string): string {
  const cut = message.search(/[{]|\b(?:data|body|content|payload)\s*[:=]/);
  return (cut >= 0 ? message.slice(0, cut) : message).trim().slice(0, 200);
}

/**
 * The SDK's logger over pino. Its messages are operational; error objects are reduced to their names, other
 * objects (which may hold response bodies) to a placeholder. The SDK's LoggerProxy hands its arguments
 * over as one array, so that is unpacked first (else every line would read "[object]").
 */
export function larkSdkLogger(log: Logger): lark.Logger {
  const child = log.child({ module: 'lark-sdk' });
  const line = (msg: unknown[]) => larkContentFree(msg.flat().map((m) => (m instanceof Error ? m.name : typeof m === 'object' ? '[object]' : String(m))).join(' '));
  return {
    error: (...msg: unknown[]) => child.error(line(msg)),
    warn: (...msg: unknown[]) => child.warn(line(msg)),
    info: (...msg: unknown[]) => child.debug(line(msg)),
    debug: (...msg: unknown[]) => child.debug(line(msg)),
    trace: (...msg: unknown[]) => child.trace(line(msg)),
  };
}
