/** A MongoDB-style filter produced by the policy engine (record scope). Always combined with `$and`. */
export type ScopeFilter = Record<string, unknown>;
