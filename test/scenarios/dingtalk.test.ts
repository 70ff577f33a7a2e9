// The shared scenario list on DingTalk (HTTP callback mode): signed robot messages and card callbacks to
// custos's real endpoints, the flows wired from the platform registry, the fake Open API receiving cards,
// card updates and export files, a security group for alerts, real Redis, database, audit, approval and
// review workers (test/helpers/dingtalk-driver.ts). What users see and the audit trail must equal the
// golden file (run.ts), every scenario. The team group is an internal DingTalk group, recorded `public`
// as Slack's and Lark's team channel is (README: DingTalk, how custos classifies a group).
import test from 'ava';
import { DingTalkDriver } from '../helpers/dingtalk-driver.ts';
import { registerScenarios } from './run.ts';

registerScenarios(test, new DingTalkDriver(import.meta.url));
