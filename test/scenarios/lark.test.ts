// The shared scenario list on Lark: signed, encrypted pushes and card callbacks to the real endpoint, the
// real SDK against the fake Open API, real Redis, database and audit pipeline (test/helpers/lark-driver.ts).
// What users see and the audit trail must equal the golden file (run.ts), which every other platform's
// file matches too.
import test from 'ava';
import { LarkDriver } from '../helpers/lark-driver.ts';
import { registerScenarios } from './run.ts';

registerScenarios(test, new LarkDriver(import.meta.url));
