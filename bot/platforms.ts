// The chat platforms custos speaks, one line each: the only file that knows the set. Order matters
// once: a person bound on several platforms is reached on the first of them listed here. Adding a
// platform is one folder (bot/<id>/ with its module.ts) and one line below; see README: Architecture.
import { dingtalkPlatform } from './dingtalk/module.ts';
import { larkPlatform } from './lark/module.ts';
import { PlatformRegistry } from './runtime/platform-registry.ts';
import { slackPlatform } from './slack/module.ts';
import { wecomPlatform } from './wecom/module.ts';

export const PLATFORMS = new PlatformRegistry([
  slackPlatform,
  larkPlatform,
  dingtalkPlatform,
  wecomPlatform,
]);
