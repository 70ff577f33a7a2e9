// Coded errors live in bot/domain/errors.ts, below both bot/core and policies/. Re-exported here so
// core's importers keep their path.
export * from '../domain/errors.ts';
