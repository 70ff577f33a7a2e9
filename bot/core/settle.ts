// How a promise went within a bound: readiness checks (a check that does not answer in time is a failed
// check) and shutdown steps (a close that hangs is logged and left behind) both need to know.
export type Settled = 'resolved' | 'rejected' | 'late';

export async function settleWithin(p: Promise<unknown>, ms: number): Promise<Settled> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), ms); });
  try {
    return await Promise.race([p.then((): Settled => 'resolved', (): Settled => 'rejected'), late]);
  } finally {
    clearTimeout(timer);
  }
}
