import type { Redis } from 'ioredis';
import type { Adapter, AdapterPayload } from 'oidc-provider';

/**
 * Where the authorization server keeps its short-lived artefacts (codes,
 * sessions, grants, refresh tokens, dynamically registered clients): Redis
 * when configured, so every instance sees the same ones; otherwise this
 * process's memory, bounded by the artefacts' own lifetimes.
 */
export type AdapterFactory = (model: string) => Adapter;

const grantable = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

export const makeMemoryAdapterFactory = (now: () => number = Date.now): AdapterFactory => {
  const items = new Map<string, { payload: AdapterPayload; expiresAt: number }>();
  const grants = new Map<string, Set<string>>();
  const live = (key: string) => {
    const item = items.get(key);
    if (item === undefined) return undefined;
    if (item.expiresAt <= now()) {
      items.delete(key);
      return undefined;
    }
    return item.payload;
  };
  return (model) => {
    const key = (id: string) => `${model}:${id}`;
    return {
      upsert: async (id, payload, expiresIn) => {
        items.set(key(id), { payload, expiresAt: expiresIn > 0 ? now() + expiresIn * 1000 : Number.MAX_SAFE_INTEGER });
        const grantId = payload['grantId'];
        if (grantable.has(model) && typeof grantId === 'string') {
          const set = grants.get(grantId) ?? new Set<string>();
          set.add(key(id));
          grants.set(grantId, set);
        }
        if (typeof payload['uid'] === 'string') items.set(`${model}:uid:${payload['uid']}`, { payload: { id }, expiresAt: now() + expiresIn * 1000 });
        if (typeof payload['userCode'] === 'string') items.set(`${model}:userCode:${payload['userCode']}`, { payload: { id }, expiresAt: now() + expiresIn * 1000 });
      },
      find: async (id) => live(key(id)),
      findByUid: async (uid) => {
        const ref = live(`${model}:uid:${uid}`);
        return typeof ref?.['id'] === 'string' ? live(key(ref['id'])) : undefined;
      },
      findByUserCode: async (userCode) => {
        const ref = live(`${model}:userCode:${userCode}`);
        return typeof ref?.['id'] === 'string' ? live(key(ref['id'])) : undefined;
      },
      consume: async (id) => {
        const payload = live(key(id));
        if (payload !== undefined) payload['consumed'] = Math.floor(now() / 1000);
      },
      destroy: async (id) => {
        items.delete(key(id));
      },
      revokeByGrantId: async (grantId) => {
        for (const k of grants.get(grantId) ?? []) items.delete(k);
        grants.delete(grantId);
      },
    };
  };
};

export const makeRedisAdapterFactory = (redis: Redis, prefix: string): AdapterFactory => (model) => {
  const key = (id: string) => `${prefix}${model}:${id}`;
  const grantKey = (grantId: string) => `${prefix}grant:${grantId}`;
  const findKey = async (k: string) => {
    const text = await redis.get(k);
    return text === null ? undefined : (JSON.parse(text) as AdapterPayload);
  };
  return {
    upsert: async (id, payload, expiresIn) => {
      const multi = redis.multi();
      const ttl = Math.max(1, Math.ceil(expiresIn));
      multi.set(key(id), JSON.stringify(payload), 'EX', ttl);
      const grantId = payload['grantId'];
      if (grantable.has(model) && typeof grantId === 'string') {
        multi.rpush(grantKey(grantId), key(id));
        multi.expire(grantKey(grantId), ttl, 'GT');
        multi.expire(grantKey(grantId), ttl, 'NX');
      }
      if (typeof payload['uid'] === 'string') multi.set(`${prefix}${model}:uid:${payload['uid']}`, id, 'EX', ttl);
      if (typeof payload['userCode'] === 'string') multi.set(`${prefix}${model}:userCode:${payload['userCode']}`, id, 'EX', ttl);
      await multi.exec();
    },
    find: (id) => findKey(key(id)),
    findByUid: async (uid) => {
      const id = await redis.get(`${prefix}${model}:uid:${uid}`);
      return id === null ? undefined : findKey(key(id));
    },
    findByUserCode: async (userCode) => {
      const id = await redis.get(`${prefix}${model}:userCode:${userCode}`);
      return id === null ? undefined : findKey(key(id));
    },
    consume: async (id) => {
      const payload = await findKey(key(id));
      if (payload === undefined) return;
      const ttl = await redis.ttl(key(id));
      await redis.set(key(id), JSON.stringify({ ...payload, consumed: Math.floor(Date.now() / 1000) }), 'EX', Math.max(1, ttl));
    },
    destroy: async (id) => {
      await redis.del(key(id));
    },
    revokeByGrantId: async (grantId) => {
      const keys = await redis.lrange(grantKey(grantId), 0, -1);
      if (keys.length > 0) await redis.del(...keys);
      await redis.del(grantKey(grantId));
    },
  };
};
