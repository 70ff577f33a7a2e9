// The domain vocabulary lives in bot/domain/domain.ts, below both bot/core and policies/ (which may not
// import bot/core: see README, Architecture). Re-exported here so core's importers keep their path.
export * from '../domain/domain.ts';
