// Types of scripts/services.mjs for the TypeScript code that reuses it (`custos demo`).
export interface StartedServices {
  env: { REDIS_URL?: string; MONGODB_URI?: string; CUSTOS_MONGO_BACKEND?: string; CUSTOS_FERRETDB_PG_DATABASE_URL?: string };
  stop(): Promise<void>;
  dir: string;
}
export function freePort(): Promise<number>;
export const DEFAULT_POSTGRES_URL: string;
export function startServices(opts?: { log?: (message: string) => void; dataDir?: string; preferPostgres?: boolean; ownProcessGroup?: boolean }): Promise<StartedServices>;
