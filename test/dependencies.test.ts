// Packages depend one way (README: Architecture). Read from the sources' import statements, static and
// dynamic: policies/ sees only itself and bot/domain/; bot/domain/ sees nothing of ours; bot/core,
// bot/conversation, bot/runtime and workers/ import no adapter folder (every registered platform's,
// and the playground); only bot/platforms.ts imports a platform's module. The scanner is tested too,
// on sources that break each rule, so a rule that can no longer fail is noticed.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { PLATFORMS } from '../bot/platforms.ts';

const ROOT = normalize(join(import.meta.dirname, '..'));

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** Repository-relative paths a source imports (relative specifiers only: packages are not ours). */
export function importsOf(file: string, text: string): string[] {
  const specs = [...text.matchAll(/(?:^|\s)(?:import|export)\s[^'"`;]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm)]
    .map((m) => m[1] ?? m[2] ?? m[3]!);
  return specs.filter((s) => s.startsWith('.')).map((s) => normalize(join(dirname(file), s)));
}

const ADAPTERS = [...PLATFORMS.ids(), 'playground'].map((id) => `bot/${id}/`);

interface Rule { name: string; applies: (file: string) => boolean; forbids: (target: string) => boolean }

const RULES: Rule[] = [
  { name: 'policies/ imports only policies/ and bot/domain/', applies: (f) => f.startsWith('policies/'), forbids: (t) => !t.startsWith('policies/') && !t.startsWith('bot/domain/') },
  { name: 'bot/domain/ imports only itself', applies: (f) => f.startsWith('bot/domain/'), forbids: (t) => !t.startsWith('bot/domain/') },
  {
    name: 'bot/core, bot/conversation, bot/runtime and workers/ import no adapter',
    applies: (f) => ['bot/core/', 'bot/conversation/', 'bot/runtime/', 'workers/'].some((d) => f.startsWith(d)),
    forbids: (t) => ADAPTERS.some((a) => t.startsWith(a)),
  },
  { name: 'only bot/platforms.ts knows the set of platforms', applies: (f) => f !== 'bot/platforms.ts' && !ADAPTERS.some((a) => f.startsWith(a)), forbids: (t) => /^bot\/[^/]+\/module\.ts$/.test(t) },
];

function violations(files: { file: string; text: string }[]): string[] {
  const out: string[] = [];
  for (const { file, text } of files) {
    for (const target of importsOf(file, text)) {
      for (const r of RULES) if (r.applies(file) && r.forbids(target)) out.push(`${file} imports ${target}: ${r.name}`);
    }
  }
  return out;
}

test('the import graph keeps every rule', (t) => {
  const files = ['bot', 'workers', 'policies'].flatMap(sources).filter((f) => !f.startsWith('policies/tests/'))
    .map((file) => ({ file, text: readFileSync(join(ROOT, file), 'utf8') }));
  t.true(files.length > 200);
  t.deepEqual(violations(files), []);
});

test('each rule fails on a source that breaks it (static, type-only and dynamic imports)', (t) => {
  const cases: [string, string, RegExp][] = [
    ['policies/engine/x.ts', "import type { Employee } from '../../bot/core/domain.ts';", /policies\/ imports only/],
    ['policies/x.ts', "import { y } from '../bot/runtime/services.ts';", /policies\/ imports only/],
    ['bot/domain/x.ts', "import { z } from '../core/ports.ts';", /bot\/domain\/ imports only itself/],
    ['bot/runtime/x.ts', "const m = await import('../lark/api.ts');", /import no adapter/],
    ['bot/core/x.ts', "export { a } from '../wecom/render.ts';", /import no adapter/],
    ['workers/export/x.ts', "import {\n  LarkApi,\n} from '../../bot/lark/api.ts';", /import no adapter/],
    ['bot/conversation/x.ts', "import '../playground/page.ts';", /import no adapter/],
    ['bot/cli/x.ts', "import { slackPlatform } from '../slack/module.ts';", /only bot\/platforms\.ts/],
  ];
  for (const [file, text, rule] of cases) {
    const found = violations([{ file, text }]);
    t.is(found.length, 1, `${file}: ${text}`);
    t.regex(found[0]!, rule);
  }
  // Allowed: core on policies, policies on bot/domain, the registry on the modules, packages anywhere.
  t.deepEqual(violations([
    { file: 'bot/core/x.ts', text: "import type { PolicyEngine } from '../../policies/types.ts';\nimport { z } from 'zod';" },
    { file: 'policies/x.ts', text: "import { ROLES } from '../bot/domain/domain.ts';" },
    { file: 'bot/platforms.ts', text: "import { wecomPlatform } from './wecom/module.ts';" },
  ]), []);
});
