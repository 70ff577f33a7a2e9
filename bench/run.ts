// `npm run bench [-- NAME …]`: runs each benchmark (bench/NAME.bench.ts) as its own process, one after
// another, with the services started by scripts/with-services.mjs. Every bench prints, as its last line,
// one JSON object with its figures; this runner collects those lines and prints them again at the end.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { moduleExtension, runnable } from './processes.ts';

const dir = path.dirname(fileURLToPath(import.meta.url));
const suffix = `.bench${moduleExtension(import.meta.url)}`;
const available = readdirSync(dir).filter((f) => f.endsWith(suffix)).map((f) => f.slice(0, -suffix.length)).sort();
// `--topology cluster` is taken as `--topology=cluster` (the one option that is given with a space).
const args = process.argv.slice(2).flatMap((a, i, all) => (all[i - 1] === '--topology' ? [] : a === '--topology' && all[i + 1] ? [`--topology=${all[i + 1]}`] : [a]));
const wanted = args.filter((a) => !a.startsWith('-'));
// Options (`--source=salesforce`) go to every bench run; each reads the ones it knows.
const options = args.filter((a) => a.startsWith('-'));
const unknown = wanted.filter((w) => !available.includes(w));
if (unknown.length) {
  console.error(`unknown bench: ${unknown.join(', ')}; available: ${available.join(', ')}`);
  process.exit(2);
}

function runOne(name: string): Promise<{ code: number; last: string }> {
  return new Promise((resolve) => {
    const { file, execArgv } = runnable(`./${name}.bench.ts`, import.meta.url);
    const child = spawn(process.execPath, [...execArgv, '--expose-gc', file, ...options], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { process.stdout.write(d); out += d.toString(); });
    child.on('exit', (code) => resolve({ code: code ?? 1, last: out.trim().split('\n').pop() ?? '' }));
  });
}

const results: string[] = [];
let failed = 0;
for (const name of wanted.length ? wanted : available) {
  console.error(`\n== bench ${name}`);
  const { code, last } = await runOne(name);
  if (code !== 0) failed++;
  results.push(code === 0 ? last : JSON.stringify({ bench: name, error: `exit ${code}` }));
}
if (results.length > 1) {
  console.log('\n== summary');
  for (const r of results) console.log(r);
}
process.exit(failed ? 1 : 0);
