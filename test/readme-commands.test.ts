// The README cannot drift from the product: every command of its "Try it" and "The `custos` command"
// sections runs as written against the demo's data. From README.md it takes each ```sh line that runs
// `custos` (the `demo` line starts the demo — in a temporary data dir, on any free port, with a small
// company — the others run in a second process with the data dir the README names replaced by the
// test's) and each line `E-0012> text` of a ```playground block (typed as that employee; the answer must
// be neither a refusal nor an error).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { startDemo } from './helpers/demo-process.ts';
import { runCli } from './helpers/run-custos.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SECTIONS = ['## Try it', '## The `custos` command'];

interface Blocks { sh: string[]; playground: { employeeId: string; text: string }[] }

/** The ```sh lines (continuations joined) and ```playground lines of the named sections. */
export function readmeBlocks(markdown: string, headings = SECTIONS): Blocks {
  const out: Blocks = { sh: [], playground: [] };
  const parts = markdown.split(/^(?=## )/m).filter((p) => headings.some((h) => p.startsWith(`${h}\n`)));
  for (const part of parts) {
    for (const m of part.matchAll(/^```(sh|playground)\n([\s\S]*?)^```/gm)) {
      const lines = m[2]!.replace(/\s*\\\n\s*/g, ' ').split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter(Boolean);
      if (m[1] === 'sh') out.sh.push(...lines);
      else for (const l of lines) { const p = /^(E-\d{4})>\s*(.+)$/.exec(l); if (p) out.playground.push({ employeeId: p[1]!, text: p[2]! }); }
    }
  }
  return out;
}

/** The arguments after `custos --` of a README line, or null when the line does not run custos. */
function custosArgs(line: string): string[] | null {
  const m = /^npm run -s custos -- (.+)$/.exec(line);
  return m ? m[1]!.split(/\s+/) : null;
}

test('readmeBlocks finds sh and playground lines in the named sections only', (t) => {
  const md = '## Try it\n\n```sh\nnpm ci\nnpm run -s custos -- demo \\\n  --port 0\n```\n\n```playground\nE-0012> help\n```\n## Other\n```sh\nnpm run -s custos -- start\n```\n';
  t.deepEqual(readmeBlocks(md), { sh: ['npm ci', 'npm run -s custos -- demo --port 0'], playground: [{ employeeId: 'E-0012', text: 'help' }] });
});

test('every command of the README\'s "Try it" and CLI sections runs as written against the demo', async (t) => {
  t.timeout(300_000);
  const blocks = readmeBlocks(readFileSync(path.join(root, 'README.md'), 'utf8'));
  const runs = blocks.sh.map(custosArgs).filter((a): a is string[] => a !== null);
  const demoArgs = runs.find((a) => a[0] === 'demo');
  t.truthy(demoArgs, 'the Try it section starts the demo');
  const demo = startDemo(t, root, demoArgs!, { urlWithinMs: 180_000 });
  const url = await demo.url;

  for (const { employeeId, text } of blocks.playground) {
    const res = await fetch(new URL('/playground/api/message', url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ employeeId, text }) });
    const answer = await res.json() as { replies: { kind: string; html: string }[] };
    t.is(res.status, 200, `${employeeId}> ${text}`);
    for (const r of answer.replies) t.notRegex(r.html, /data-tone="(refusal|error)"/, `${employeeId}> ${text}: ${r.html.slice(0, 300)}`);
  }
  for (const args of runs.filter((a) => a[0] !== 'demo')) {
    const line = args.map((a) => a.replace(/^\.data\/demo(?=\/|$)/, demo.dataDir)).map((a) => a.replace(/^<.*>$/, ''));
    const r = await runCli(line, { HOME: process.env.HOME });
    t.is(r.code, 0, `custos ${args.join(' ')}\n${r.stdout}${r.stderr}`);
  }
  process.kill(demo.child.pid!, 'SIGINT');
  t.is(await demo.exited, 0, demo.stderr().slice(-2000));
  t.notRegex(demo.stderr(), /ECONNREFUSED/, 'a clean shutdown');
});
