// What the scale drills print when "every acknowledged request answered exactly once" fails: for each
// request answered twice (or not at all), which bot acknowledged it, every reply Slack's fake received for
// it (response_url posts, and chat.postMessage calls into the asker's conversation around them, with
// times), the pending-answer ledger's entry as it is now (state, generation, lease end; the sealed record
// left out), and every bot's log lines that name its answer id, with the warnings and errors logged
// around its replies. Runs whose failures kept nothing could not tell which path answered twice (README,
// Scaling, "Found while drilling"); this is what tells them apart.
import type { RecordedCall } from '../fakes/slack-api.ts';
import { correlationIdOf } from '../../bot/slack/handlers.ts';
import { section, loadConfig } from '../../bot/config.ts';
import { createRedis } from '../../bot/store/redis-client.ts';
import type { CustosProcess } from './scale-topology.ts';

/** One acknowledged request as the drill recorded it. */
export interface AckedRequest {
  responsePath: string;
  backend: number;
  /** The Slack trigger_id it was sent with: the ledger's answer id is derived from it. */
  triggerId?: string;
  /** When a bot acknowledged it (ms). */
  at?: number;
  /** The asker's conversation (its DM): where a reply by chat.postMessage would go. */
  channel?: string;
}

/** pino's JSON line: its time (ms), level (30 info, 40 warn, 50 error) and message. */
interface LogLine { time?: number; level?: number; msg?: string; answer?: string }

/** Warnings and errors logged this close to the ack or a reply are printed with them (ms). */
const AROUND_MS = 3_000;
const POST_NEAR_MS = 1_000;
const MAX_AROUND = 25;

export async function diagnoseAnswers(opts: {
  requests: AckedRequest[];
  calls: readonly RecordedCall[];
  processes: readonly CustosProcess[];
  env: NodeJS.ProcessEnv;
}): Promise<string> {
  const entries = await ledgerEntries(opts.env, opts.requests.map((r) => (r.triggerId ? correlationIdOf(r.triggerId) : undefined)));
  const out: string[] = [];
  for (const [i, r] of opts.requests.entries()) {
    const id = r.triggerId ? correlationIdOf(r.triggerId) : undefined;
    const replies = opts.calls.filter((c) => c.method === 'response_url' && c.path === r.responsePath);
    const times = [r.at ?? 0, ...replies.map((c) => c.at)].filter((x) => x > 0);
    const near = (at: number | undefined, ms: number) => at !== undefined && times.some((x) => Math.abs(x - at) <= ms);
    // The flows post into the same people's conversations: only posts beside the ack or a reply.
    const posts = r.channel ? opts.calls.filter((c) => c.method === 'chat.postMessage' && (c.body as { channel?: string }).channel === r.channel && near(c.at, POST_NEAR_MS)) : [];
    const acker = opts.processes.find((p) => p.port === r.backend)?.name ?? `port ${r.backend}`;
    out.push(`— request ${r.responsePath}, answer id ${id ?? '?'}, acknowledged by ${acker} at ${iso(r.at)}`);
    for (const c of replies) out.push(`  response_url ${iso(c.at)} ok=${c.ok} ${snippet(c.body)}`);
    for (const c of posts) out.push(`  chat.postMessage ${iso(c.at)} (asker's conversation, same window) ok=${c.ok} ${snippet(c.body)}`);
    out.push(`  ledger entry now: ${entries[i] ?? 'gone (finished, or expired)'}`);
    for (const p of opts.processes) {
      const lines = parsed(p.log());
      const named = id ? lines.filter((l) => l.line.includes(id)) : [];
      const around = lines.filter((l) => (l.json.level ?? 0) >= 40 && near(l.json.time, AROUND_MS) && !named.includes(l)).slice(0, MAX_AROUND);
      if (named.length + around.length === 0) continue;
      out.push(`  ${p.name}${p.port ? ` (port ${p.port})` : ''}:`);
      for (const l of named) out.push(`    ${l.line}`);
      if (around.length) out.push(`    warnings and errors within ${AROUND_MS / 1000} s of its ack or a reply:`);
      for (const l of around) out.push(`    ${l.line}`);
    }
  }
  return out.join('\n');
}

/** Each answer's ledger hash (without the sealed record) and its due score, read now. */
async function ledgerEntries(env: NodeJS.ProcessEnv, ids: (string | undefined)[]): Promise<(string | undefined)[]> {
  const redis = section(loadConfig(env, { require: ['redis'] }), 'redis');
  const client = createRedis(redis, { maxRetriesPerRequest: 1, commandTimeout: 2_000 });
  client.on('error', () => undefined);
  const base = `${redis.keyPrefix}:{answers}:slack`;
  let timer: NodeJS.Timeout | undefined;
  // A cluster client whose nodes are gone waits for them without end: the diagnosis must not hang the test.
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('no answer within 10 s')), 10_000); });
  try {
    return await Promise.race([late, Promise.all(ids.map(async (id) => {
      if (!id) return undefined;
      const [hash, due] = await Promise.all([client.hgetall(`${base}:e:${id}`), client.zscore(`${base}:due`, id)]);
      if (Object.keys(hash).length === 0 && due === null) return undefined;
      const { record: _sealed, ...fields } = hash;
      return `${JSON.stringify(fields)}, due ${due === null ? 'none' : iso(Number(due))}`;
    }))]);
  } catch (err) {
    return ids.map(() => `unreadable (${err instanceof Error ? err.message : String(err)})`);
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}

function parsed(log: string): { line: string; json: LogLine }[] {
  return log.split('\n').filter(Boolean).map((line) => {
    try { return { line, json: JSON.parse(line) as LogLine }; } catch { return { line, json: {} }; }
  });
}

function iso(ms: number | undefined): string {
  return ms ? new Date(ms).toISOString().slice(11, 23) : '?';
}

function snippet(body: unknown): string {
  const b = body as { text?: unknown; replace_original?: unknown } | undefined;
  return JSON.stringify(String(b?.text ?? '').slice(0, 80));
}
