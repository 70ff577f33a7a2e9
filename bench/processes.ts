// How a bench starts another of our modules as a process. From the sources that is node with tsx; from
// the JavaScript `npm test` compiles once (scripts/build-test-js.mjs, which the bench smoke test runs the
// benches from, to spare a tsx start per process) it is node on the sibling `.js` file.
import { fileURLToPath } from 'node:url';

/** `relative` (written as the `.ts` source, e.g. '../bot/cli/main.ts') next to the module at `base`. */
export function runnable(relative: string, base: string): { file: string; execArgv: string[] } {
  const compiled = base.endsWith('.js');
  const file = fileURLToPath(new URL(compiled ? relative.replace(/\.ts$/, '.js') : relative, base));
  return { file, execArgv: compiled ? [] : ['--import', 'tsx'] };
}

/** The extension of the bench modules next to `base`: `.ts` from the sources, `.js` when compiled. */
export function moduleExtension(base: string): '.ts' | '.js' {
  return base.endsWith('.js') ? '.js' : '.ts';
}
