// The shared scenario list on the playground: the requests its browser page makes (message, action,
// inbox, download) against the real playground on the same seeded company, with real Redis, database,
// audit worker and approval flow (test/helpers/playground-driver.ts). What users see and the audit trail
// must equal the golden file (run.ts), which Slack's and Lark's files match too.
import test from 'ava';
import { PlaygroundDriver } from '../helpers/playground-driver.ts';
import { registerScenarios } from './run.ts';

registerScenarios(test, new PlaygroundDriver(import.meta.url));
