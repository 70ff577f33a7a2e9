// The shared scenario list on DingTalk (HTTP callback mode): signed robot messages and card callbacks to
// custos's real endpoints, the flows wired from the platform registry, the fake Open API receiving cards,
// card updates and export files, real Redis, database, audit and approval workers
// (test/helpers/dingtalk-driver.ts). What users see and the audit trail must equal the golden file (run.ts).
import test from 'ava';
import { DingTalkDriver } from '../helpers/dingtalk-driver.ts';
import { registerScenarios } from './run.ts';

registerScenarios(test, new DingTalkDriver(import.meta.url));
