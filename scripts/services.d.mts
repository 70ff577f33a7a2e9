// Types of scripts/services.mjs for the TypeScript code that reuses it (`custos demo`).
export interface StartedServices {
  env: { REDIS_URL?: string; MONGODB_URI?: string };
  stop(): Promise<void>;
  dir: string;
}
export function freePort(): Promise<number>;
export function startServices(opts?: { log?: (message: string) => void; dataDir?: string }): Promise<StartedServices>;
