#!/usr/bin/env node
// Entry point of the `custos` command (package.json "bin"); the program itself is in program.ts.
import { main } from './program.ts';

process.exitCode = await main(process.argv.slice(2));
