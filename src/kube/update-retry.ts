// Read-modify-write with optimistic concurrency: on 409 Conflict, read again and re-apply the change.
import type { KubeClient, KubeObject } from './client.js';
import { isConflict } from './errors.js';
import type { ResourceRef } from './resources.js';

export interface RetryOptions {
  attempts?: number;
  subresource?: 'status';
}

/**
 * Applies `mutate` to the latest object and writes it, retrying on conflicts. `mutate` returns undefined to
 * skip the write (nothing to change). Returns the stored object.
 */
export async function updateWithRetry<T extends KubeObject>(
  client: KubeClient,
  r: ResourceRef,
  namespace: string,
  name: string,
  mutate: (cur: T) => T | undefined,
  o: RetryOptions = {},
): Promise<T> {
  const attempts = o.attempts ?? 8;
  for (let i = 0; ; i++) {
    const cur = await client.get<T>(r, namespace, name);
    const next = mutate(structuredClone(cur));
    if (!next) return cur;
    try {
      return await client.update<T>(r, next, o.subresource);
    } catch (e) {
      if (!isConflict(e) || i + 1 >= attempts) throw e;
      await new Promise((res) => setTimeout(res, Math.min(200, 5 * 2 ** i) * (0.5 + Math.random())));
    }
  }
}

/** A merge patch retried on conflict (a patch that carries metadata.resourceVersion can conflict). */
export async function patchWithRetry<T extends KubeObject>(
  client: KubeClient,
  r: ResourceRef,
  namespace: string,
  name: string,
  patch: unknown,
  o: RetryOptions = {},
): Promise<T> {
  const attempts = o.attempts ?? 8;
  for (let i = 0; ; i++) {
    try {
      return await client.patch<T>(
        r,
        namespace,
        name,
        patch,
        'merge',
        o.subresource ? { subresource: o.subresource } : {},
      );
    } catch (e) {
      if (!isConflict(e) || i + 1 >= attempts) throw e;
      await new Promise((res) => setTimeout(res, Math.min(200, 5 * 2 ** i)));
    }
  }
}
