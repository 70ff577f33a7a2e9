// The policy package: load and validate policy files, decide, mask. Pure: no database, queue or SDK.
export * from './types.ts';
export { loadPolicy, checkPolicy, formatProblem, type Policy, type PolicyProblem } from './load.ts';
export { createPolicyEngine, type PolicyEngineImpl, type EngineOptions } from './engine/engine.ts';
export { ALWAYS_FALSE } from './engine/compile.ts';
export { principalOf } from './engine/principal.ts';
export { mask, PRESET_NAMES, presetInfo } from './mask/index.ts';
export { isGrantActive, MemoryGrantStore, type Grant, type GrantStore, type GrantSource, type GrantTarget } from './grants.ts';
