// What a stopped component leaves pending in the process: a worker's close that leaves a long timer behind
// keeps the process that stopped it (a test file, anything embedding the worker) alive that long after.
import { createHook } from 'node:async_hooks';

/**
 * The timers created while `run` runs that are still pending afterwards and would keep the process alive
 * for a second or more (ref'd, not cleared, at least that long, or repeating). A client's close may leave a
 * short guard of its own (ioredis: 2 s until a socket that will not close is destroyed; cleared once it
 * does), so only those are told apart by their length — the timer's own setting, not a clock.
 */
export async function timersLeftBy(run: () => Promise<void>, atLeastMs = 5_000): Promise<string[]> {
  interface NodeTimer { _idleTimeout: number; _repeat: number | null; _destroyed: boolean; hasRef(): boolean }
  const created = new Map<number, { timer: WeakRef<NodeTimer>; where: string }>();
  const hook = createHook({
    init(id, type, _trigger, resource) {
      if (type !== 'Timeout') return;
      const at: { stack?: string } = {};
      Error.captureStackTrace(at);
      const where = at.stack!.split('\n').filter((l) => /^\s+at /.test(l) && !/node:|async_hooks|AsyncHook|<anonymous>/.test(l)).slice(0, 2);
      created.set(id, { timer: new WeakRef(resource as NodeTimer), where: where.map((l) => l.trim()).join(' ← ') });
    },
    destroy(id) { created.delete(id); },
  }).enable();
  try { await run(); } finally { hook.disable(); }
  return [...created.values()].flatMap(({ timer, where }) => {
    const t = timer.deref();
    const lingers = t && !t._destroyed && t.hasRef() && (t._repeat !== null || t._idleTimeout >= atLeastMs);
    return lingers ? [`${t._repeat ? 'every' : 'after'} ${t._idleTimeout} ms, set ${where}`] : [];
  });
}
