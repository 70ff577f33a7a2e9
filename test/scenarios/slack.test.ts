// The shared scenario list on Slack: signed requests to the real Bolt endpoint, the real SDK against the
// fake Web API, real Redis, database and audit pipeline (test/helpers/slack-driver.ts). What users see and
// the audit trail must equal the golden file (run.ts), which every other platform's file matches too.
import test from 'ava';
import { SlackDriver } from '../helpers/slack-driver.ts';
import { registerScenarios } from './run.ts';

registerScenarios(test, new SlackDriver(import.meta.url));
