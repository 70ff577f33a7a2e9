// The Redis a platform's outgoing chat keeps its state in (DingTalk's card ledger, WeCom's clicked cards'
// response codes): the calling process's when it has one, else a connection of the module's own that
// connects on first use and is released with the chat (PlatformChat.close).
import { section } from '../config.ts';
import type { RedisClient } from '../store/redis-client.ts';
import type { ChatContext } from './platform-module.ts';

export async function chatRedis(ctx: Pick<ChatContext, 'config' | 'redis'>): Promise<{ redis: RedisClient; close?: () => Promise<void> }> {
  if (ctx.redis) return { redis: ctx.redis };
  const { createRedis } = await import('../store/redis-client.ts');
  const own = createRedis(section(ctx.config, 'redis'), { lazyConnect: true, maxRetriesPerRequest: 1 });
  return { redis: own, close: async () => { own.disconnect(); } };
}
