// Compiles bot/, workers/, policies/, bench/ and the test helpers to plain JavaScript once per test run
// (`npm test` passes --build-js to with-services.mjs), so tests that run `custos`, the worker or a bench
// as a real process start node on JavaScript instead of booting tsx each time: tsx's loader and
// on-the-fly transforms cost about as much CPU as the program's own start-up, and the suite starts
// dozens of such processes on 2 cores. The output keeps the source layout (bot/cli/main.ts →
// <dir>/bot/cli/main.js); relative `.ts` imports become `.js` and packages stay imports, resolved from
// the checkout's node_modules — which is why the directory lives inside the checkout. The compiler is
// the esbuild that tsx itself runs, so the code is transformed exactly as under tsx. Plain JavaScript
// so it runs before anything is compiled.
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// bench/ for the bench smoke test; test/ for the helpers and fakes the benches use (not the test files).
const SOURCES = ['bot', 'workers', 'policies', 'bench', 'test'];

function* typescriptFiles(dir, tests) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* typescriptFiles(p, tests);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') && (tests || !e.name.endsWith('.test.ts'))) yield p;
  }
}

/**
 * Code under test/ finds its fixtures, the checkout root and the files it inspects (README.md, bot/…)
 * relative to itself; compiled, it keeps behaving as if it sat at its source location: `import.meta.url`,
 * `.dirname` and `.filename` become the source file's. (Source maps already point stack traces there.)
 */
const sourceLocation = {
  name: 'source-location',
  setup(build) {
    const testDir = `${path.join(root, 'test')}${path.sep}`;
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      if (!args.path.startsWith(testDir)) return undefined;
      const contents = readFileSync(args.path, 'utf8')
        .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href))
        .replaceAll('import.meta.dirname', JSON.stringify(path.dirname(args.path)))
        .replaceAll('import.meta.filename', JSON.stringify(args.path));
      return { contents, loader: 'ts' };
    });
  },
};

/** Every import stays an import of its own file: a `.ts` one renamed to the `.js` this build writes. */
const keepModules = {
  name: 'keep-modules',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => (args.kind === 'entry-point'
      ? undefined
      : { path: args.path.replace(/^(\.{1,2}\/.*)\.ts$/, '$1.js'), external: true }));
  },
};

/**
 * Builds into a fresh directory under .test-artifacts/ and returns its path. With `tests`, the test files
 * too (`npm test` runs them compiled: tsx's loader costs each test process ~1.5 s of CPU, ~140 processes).
 */
export async function buildTestJs({ tests = false } = {}) {
  // tsx's own esbuild (not a dependency of ours), found the way tsx finds it.
  const { build } = createRequire(createRequire(import.meta.url).resolve('tsx/package.json'))('esbuild');
  const outdir = path.join(root, '.test-artifacts', `js-${randomBytes(4).toString('hex')}`);
  const entryPoints = SOURCES.flatMap((d) => [...typescriptFiles(path.join(root, d), tests)]);
  await build({
    entryPoints, outdir, outbase: root, bundle: true, format: 'esm', platform: 'node', target: 'node20',
    sourcemap: 'inline', logLevel: 'warning', tsconfig: path.join(root, 'tsconfig.json'), plugins: [keepModules, sourceLocation],
  });
  return outdir;
}

export function removeTestJs(dir) {
  rmSync(dir, { recursive: true, force: true });
}
