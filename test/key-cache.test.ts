// The unwrapped data-key cache (bot/store/key-cache.ts), model-based: over generated histories of sets,
// gets and clock steps, after every step the cache never holds more than its bound, never returns a key
// older than its TTL, never returns a key set under another name, and returns exactly what a simple
// model (a map with insertion times and least-recently-used order) says it should.
import test from 'ava';
import fc from 'fast-check';
import { KeyCache } from '../bot/store/key-cache.ts';

type Step = { kind: 'set'; name: number } | { kind: 'get'; name: number } | { kind: 'tick'; ms: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), name: fc.nat(7) }),
  fc.record({ kind: fc.constant('get' as const), name: fc.nat(7) }),
  fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 700 }) }),
);

test('bounded in size and age, least recently used evicted first, never another entry\'s key', (t) => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 1, max: 1000 }), fc.array(stepArb, { maxLength: 80 }), (max, ttlMs, steps) => {
    let now = 0;
    const cache = new KeyCache({ maxEntries: max, ttlMs, now: () => now });
    const model = new Map<string, { key: string; at: number }>(); // insertion order = LRU order
    let version = 0;
    for (const step of steps) {
      if (step.kind === 'tick') { now += step.ms; continue; }
      const name = `C-${step.name}`;
      if (step.kind === 'set') {
        const key = `${name}#${version++}`;
        cache.set(name, Buffer.from(key));
        if (max > 0) {
          model.delete(name);
          model.set(name, { key, at: now });
          while (model.size > max) model.delete(model.keys().next().value as string);
        }
      } else {
        const got = cache.get(name)?.toString();
        const m = model.get(name);
        model.delete(name);
        const fresh = m && now - m.at <= ttlMs ? m : undefined;
        if (fresh) model.set(name, fresh);
        if (got !== fresh?.key) return false;
        if (got !== undefined && !got.startsWith(`${name}#`)) return false;
      }
      if (cache.size > max) return false;
    }
    return true;
  }), { numRuns: 300 });
  t.pass();
});

test('a size of 0 caches nothing; clear() empties the cache', (t) => {
  const none = new KeyCache({ maxEntries: 0, ttlMs: 1000 });
  none.set('a', Buffer.from('k'));
  t.is(none.get('a'), undefined);
  const some = new KeyCache({ maxEntries: 2, ttlMs: 1000 });
  some.set('a', Buffer.from('k'));
  some.clear();
  t.is(some.size, 0);
  t.is(some.get('a'), undefined);
});
