// docker/: what can be validated without a Docker daemon. The compose file's structure (replica set with
// an initiating health check, Redis for BullMQ, bot and worker as separate services, the playground on the
// host's loopback only), .env.example listing every setting bot/config.ts reads, and a lint of the
// Dockerfile (multi-stage, LTS Node, production dependencies only, non-root, health check). When the
// Docker client has the compose plugin, `docker compose config` must accept the file too.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { parse } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const read = (p: string) => readFileSync(path.join(root, p), 'utf8');

/** Every setting name in the zod schemas of config.ts and the sections' config-*.ts (the `NAME: z.` lines). */
function configSettings(): string[] {
  return ['bot/config.ts', 'bot/config-redis.ts', 'bot/config-stream.ts', 'bot/config-sync.ts'].flatMap((file) => {
    const source = read(file);
    const body = source.slice(source.indexOf('const schema = z.object({'), source.indexOf('\n});', source.indexOf('const schema = z.object({')));
    return [...body.matchAll(/^ {2}([A-Z][A-Z0-9_]+): /gm)].map((m) => m[1]!);
  });
}

/** Each connector's settings, `CUSTOS_SYNC_<SOURCE>_<NAME>`, by the file that parses them. */
const CONNECTOR_SETTINGS: Record<string, string[]> = {
  'bot/sync/salesforce/settings.ts': ['LOGIN_URL', 'CLIENT_ID', 'CLIENT_SECRET', 'PRIVATE_KEY_FILE', 'USERNAME', 'API_VERSION', 'BATCH_SIZE', 'REQUESTS_PER_SECOND', 'BULK_THRESHOLD'],
  'bot/sync/jiandaoyun/config.ts': ['API_URL', 'API_KEY', 'APP_ID', 'ENTRY_ID', 'WEBHOOK_SECRET'],
  'bot/sync/zoho/settings.ts': ['ACCOUNTS_URL', 'CLIENT_ID', 'CLIENT_SECRET', 'REFRESH_TOKEN', 'PER_PAGE', 'REQUESTS_PER_SECOND', 'NOTIFY_URL', 'CHANNEL_ID', 'CHANNEL_TOKEN', 'CHANNEL_MINUTES'],
  'bot/sync/kingdee/settings.ts': ['SERVER_URL', 'ACCT_ID', 'USERNAME', 'APP_ID', 'APP_SECRET', 'LCID', 'FORM_ID', 'USE_ORG', 'PAGE_SIZE', 'REQUESTS_PER_SECOND'],
  'bot/sync/sharecrm/settings.ts': ['API_URL', 'APP_ID', 'APP_SECRET', 'PERMANENT_CODE', 'OPEN_USER_ID', 'PAGE_SIZE', 'REQUESTS_PER_SECOND'],
};

/** The settings each chat adapter parses in its own folder (bot/<platform>/config.ts, read by its module). */
const ADAPTER_SETTINGS: Record<string, RegExp> = {
  'bot/dingtalk/config.ts': /\bDINGTALK_[A-Z0-9_]*[A-Z0-9]\b/g,
  'bot/wecom/config.ts': /\bWECOM_[A-Z0-9_]*[A-Z0-9]\b/g,
};

function adapterSettings(): Set<string> {
  return new Set(Object.entries(ADAPTER_SETTINGS).flatMap(([file, names]) => [...read(file).matchAll(names)].map((m) => m[0])));
}

/** Settings named per source (bot/config-sync.ts and the connectors): one example of each family is listed. */
const SETTING_FAMILIES = [
  /^CUSTOS_SYNC_PUSH_SECRET_[A-Z0-9_]+$/,
  ...Object.values(CONNECTOR_SETTINGS).map((names) => new RegExp(`^CUSTOS_SYNC_[A-Z0-9_]+_(?:${names.join('|')})$`)),
];

test('the connector settings this file allows are the ones each connector parses', (t) => {
  for (const [file, names] of Object.entries(CONNECTOR_SETTINGS)) {
    const source = read(file);
    for (const name of names) t.true(source.includes(`\${p}${name}\``) || source.includes(`'${name}'`) || source.includes(`${name}:`), `${file} parses ${name}`);
  }
});

interface Service { command?: string[]; image?: string; healthcheck?: { test?: string[]; disable?: boolean }; environment?: Record<string, string>; ports?: string[]; env_file?: string; build?: { dockerfile: string } }
const compose = parse(read('docker/compose.yaml'), { merge: true }) as { services: Record<string, Service> };

test('.env.example lists every setting bot/config.ts and bot/config-stream.ts read', (t) => {
  const settings = configSettings();
  t.true(settings.length >= 30, `found ${settings.length} settings`);
  const example = read('docker/.env.example');
  const listed = new Set([...example.matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!));
  const missing = settings.filter((s) => !listed.has(s));
  t.deepEqual(missing, [], `add to docker/.env.example: ${missing.join(', ')}`);
  const adapters = adapterSettings();
  const unknown = [...listed].filter((s) => !settings.includes(s) && !adapters.has(s) && !SETTING_FAMILIES.some((f) => f.test(s)));
  t.deepEqual(unknown, [], 'only settings custos reads');
  // The keys are required and must not ship with usable values.
  for (const key of ['CUSTOS_DATA_KEYS', 'CUSTOS_BLIND_INDEX_KEY', 'CUSTOS_AUDIT_HMAC_KEY', 'CUSTOS_AUDIT_SIGNING_KEY']) {
    t.regex(example, new RegExp(`^${key}=.*REPLACE_WITH`, 'm'));
  }
});

test('compose: MongoDB replica set, Redis for BullMQ, bot and worker as separate services', (t) => {
  const { mongo, redis, bot, worker } = compose.services;
  t.truthy(mongo && redis && bot && worker);
  t.deepEqual(mongo!.command?.slice(0, 3), ['mongod', '--replSet', 'rs0']);
  t.regex(mongo!.healthcheck!.test!.join(' '), /rs\.initiate\(.*isWritablePrimary/);
  const redisArgs = redis!.command!.join(' ');
  t.regex(redisArgs, /--maxmemory-policy noeviction/);
  t.regex(redisArgs, /--appendonly yes/);
  t.deepEqual(bot!.command, ['start', '--only', 'bot']);
  t.deepEqual(worker!.command, ['start', '--only', 'worker']);
  t.true(worker!.healthcheck?.disable, 'the worker has no HTTP port to check');
  for (const s of [bot!, worker!]) {
    t.is(s.build?.dockerfile, 'docker/Dockerfile');
    t.is(s.env_file, '.env');
    t.regex(s.environment!.MONGODB_URI!, /^mongodb:\/\/mongo:27017\/\?replicaSet=rs0$/);
    t.is(s.environment!.REDIS_URL, 'redis://redis:6379');
  }
  // The playground verifies nobody: it may listen on all interfaces only inside the container, with the
  // port published on the host's loopback.
  t.deepEqual(bot!.ports, ['127.0.0.1:3000:3000']);
  t.is(bot!.environment!.CUSTOS_PLAYGROUND_ALLOW_REMOTE, 'true');
  const settings = new Set(configSettings());
  for (const [name, s] of Object.entries(compose.services)) {
    for (const v of Object.keys(s.environment ?? {})) t.true(settings.has(v), `${name} sets ${v}, which custos does not read`);
  }
});

test('Dockerfile: multi-stage, LTS Node, production dependencies only, non-root, health check', (t) => {
  const file = read('docker/Dockerfile');
  const lines = file.split('\n').filter((l) => !l.trim().startsWith('#'));
  const image = /^ARG NODE_IMAGE=node:(\d+)-[a-z-]+$/m.exec(file);
  t.truthy(image, 'the Node image is pinned to a major version');
  t.true(Number(image![1]) >= 22 && Number(image![1]) % 2 === 0, 'an even (LTS) Node major, 22 or later');
  const stages = lines.filter((l) => /^FROM /.test(l));
  t.is(stages.length, 2);
  const runtime = lines.slice(lines.findIndex((l) => /^FROM .* AS runtime$/.test(l)));
  t.true(runtime.some((l) => /npm ci --omit=dev/.test(l)), 'production dependencies only');
  t.false(runtime.some((l) => /npm (ci|install)(?!.*--omit=dev)/.test(l)));
  t.true(runtime.some((l) => /^USER node$/.test(l)), 'runs as the unprivileged node user');
  t.true(runtime.some((l) => /^HEALTHCHECK .*\/healthz/.test(l) || /\/healthz/.test(l)));
  t.true(runtime.some((l) => /^ENTRYPOINT \["node", "\/app\/dist\/bot\/cli\/main\.js"\]$/.test(l)), 'exec form, the built CLI');
  t.false(/:latest\b/.test(file));
  t.false(/^ADD /m.test(file), 'COPY, never ADD');
  // Every COPY source from the build context exists in the repository.
  for (const m of file.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
    for (const src of m[1]!.split(' ')) {
      const base = src.replace(/\/\*.*$/, '');
      t.true(existsSync(path.join(root, base)), `COPY source ${src} exists`);
    }
  }
  const ignore = read('docker/Dockerfile.dockerignore');
  t.regex(ignore, /^\*\*$/m, 'the build context is an allow-list');
  t.regex(ignore, /^!bot\/\*\*$/m);
});

test('docker compose config accepts the file when the compose plugin is available', (t) => {
  const probe = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    t.log('docker compose is not available here: validated by the structural checks only');
    t.pass();
    return;
  }
  const r = spawnSync('docker', ['compose', '-f', 'docker/compose.yaml', '--env-file', 'docker/.env.example', 'config', '--quiet'], { cwd: root, encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
});
