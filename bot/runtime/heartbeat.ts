// A heartbeat over a long-lived WebSocket (the `ws` package's ping and pong): a ping each period, and a
// socket that has not answered the last one by the next tick is a dead path (a NAT or proxy that dropped
// it without a close) and is terminated, so whoever owns it reconnects. One interval per socket, ended
// when the socket closes, so reconnecting never leaves a second one racing the first.
export interface PingSocket { on(e: 'pong', f: () => void): void; once(e: 'close', f: () => void): void; ping(): void; terminate(): void }
export type Timers = Pick<typeof globalThis, 'setInterval' | 'clearInterval'>;

/** Starts the heartbeat on `socket`; `onDead` hears of a missed pong before the socket is ended. Returns its stop. */
export function heartbeat(socket: PingSocket, everyMs: number, onDead: () => void, timers: Timers = globalThis): () => void {
  let answered = true;
  socket.on('pong', () => { answered = true; });
  const timer = timers.setInterval(() => {
    if (answered) { answered = false; return socket.ping(); }
    onDead();
    socket.terminate();
  }, everyMs);
  const stop = () => timers.clearInterval(timer);
  socket.once('close', stop);
  return stop;
}
