/** Small TTL cache for lookups whose answers rarely change (vaults, policies, role checks). */
export interface TtlCache<T> {
  get(key: string): T | undefined;
  set(key: string, value: T): void;
  delete(key: string): void;
  /** Returns the cached value or runs `load` once for concurrent callers. Rejections are not cached. */
  getOrLoad(key: string, load: () => Promise<T>): Promise<T>;
}

export function createTtlCache<T>(ttlInMs: number, now: () => number = Date.now): TtlCache<T> {
  const values = new Map<string, { value: T; until: number }>();
  const loading = new Map<string, Promise<T>>();
  const get = (key: string): T | undefined => {
    const hit = values.get(key);
    if (!hit) return undefined;
    if (hit.until <= now()) {
      values.delete(key);
      return undefined;
    }
    return hit.value;
  };
  const set = (key: string, value: T): void => {
    values.set(key, { value, until: now() + ttlInMs });
  };
  return {
    get,
    set,
    delete: (key) => {
      values.delete(key);
    },
    async getOrLoad(key, load) {
      const hit = values.get(key);
      if (hit && hit.until > now()) return hit.value;
      let p = loading.get(key);
      if (!p) {
        p = load().then(
          (v) => {
            loading.delete(key);
            set(key, v);
            return v;
          },
          (e: unknown) => {
            loading.delete(key);
            throw e;
          },
        );
        loading.set(key, p);
      }
      return p;
    },
  };
}
