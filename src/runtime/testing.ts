// Helpers for tests that drive the runtime with real processes and real HTTP: wait on a condition (never a
// bare sleep) and make one request with a chosen Host header.
import { request, type Agent, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type { Runtime } from './runtime.js';
import type { RevisionStatus } from './types.js';

/** Poll `fn` until it returns a truthy value; throws naming `what` (and the last value seen) on timeout. */
export async function waitFor<T>(
  what: string,
  fn: () => T | Promise<T>,
  timeoutMs = 10_000,
  intervalMs = 20,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await fn();
    if (last) return last as NonNullable<T>;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Wait until a revision's status satisfies `pred`; the error shows the last status. */
export async function waitForStatus(
  rt: Runtime,
  namespace: string,
  name: string,
  pred: (s: RevisionStatus) => boolean,
  timeoutMs = 10_000,
): Promise<RevisionStatus> {
  let last: RevisionStatus | undefined;
  try {
    return await waitFor(
      `status of ${namespace}/${name}`,
      () => {
        last = rt.revisionStatus(namespace, name);
        return last && pred(last) ? last : undefined;
      },
      timeoutMs,
    );
  } catch {
    throw new Error(
      `timed out after ${timeoutMs} ms waiting for the status of ${namespace}/${name}; last: ${JSON.stringify(last, null, 1)}`,
    );
  }
}

export interface SimpleResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export function httpRequest(
  url: string,
  opts: {
    host?: string;
    method?: string;
    path?: string;
    headers?: OutgoingHttpHeaders;
    body?: string | Buffer;
    agent?: Agent | false;
    timeoutMs?: number;
  } = {},
): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(opts.path ?? '/', url);
    const headers: OutgoingHttpHeaders = { ...opts.headers };
    if (opts.host) headers['host'] = opts.host;
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: opts.method ?? 'GET',
        headers,
        agent: opts.agent ?? false,
        timeout: opts.timeoutMs ?? 15_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request to ${u.href} timed out`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** True while a process with this pid exists. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
