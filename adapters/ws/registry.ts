import type { Conn } from './types.js';

/** Open connections by user: the per-user cap and the numbers behind /stats. */
export const makeRegistry = () => {
  const byUser = new Map<string, Set<Conn>>();
  let total = 0;

  return {
    add: (conn: Conn) => {
      let set = byUser.get(conn.userId);
      if (set === undefined) {
        set = new Set();
        byUser.set(conn.userId, set);
      }
      set.add(conn);
      total += 1;
    },
    remove: (conn: Conn) => {
      const set = byUser.get(conn.userId);
      if (set === undefined || !set.delete(conn)) return;
      total -= 1;
      if (set.size === 0) byUser.delete(conn.userId);
    },
    count: (userId: string): number => byUser.get(userId)?.size ?? 0,
    total: () => total,
    users: () => byUser.size,
    all: function* (): Generator<Conn> {
      for (const set of byUser.values()) yield* set;
    },
    /** The `limit` users with the most connections, most first. */
    top: (limit: number) =>
      [...byUser.entries()]
        .map(([userId, set]) => ({ userId, connections: set.size }))
        .sort((a, b) => b.connections - a.connections)
        .slice(0, limit),
  };
};

export type Registry = ReturnType<typeof makeRegistry>;
