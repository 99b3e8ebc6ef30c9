// Steady requests through the router by Host header, as an operator's curl loop would: one request every
// `everyMs`, each with a fresh connection (so a router that is down shows as refused, status 0), the router's
// URL read anew from <data>/endpoints.json before each request so a restarted router is followed.
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Answer {
  at: number;
  /** HTTP status, or 0 when the connection failed (refused, reset, timed out). */
  status: number;
  revision: string;
}

export interface Traffic {
  readonly answers: Answer[];
  /** Answers since `t` (ms since the epoch). */
  since(t: number): Answer[];
  stop(): Promise<void>;
}

function routerOf(dataDir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(dataDir, 'endpoints.json'), 'utf8')) as { router?: string }).router;
  } catch {
    return undefined;
  }
}

/** One request through the router with this Host (a fresh connection). */
export function once(router: string, host: string): Promise<Answer> {
  const url = new URL(router);
  return new Promise((resolve) => {
    const req = request(
      { host: url.hostname, port: url.port, path: '/', headers: { host, connection: 'close' }, agent: false },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve({
            at: Date.now(),
            status: res.statusCode ?? 0,
            revision: String(res.headers['knative-serving-revision'] ?? ''),
          }),
        );
        res.on('error', () => resolve({ at: Date.now(), status: 0, revision: '' }));
      },
    );
    req.on('error', () => resolve({ at: Date.now(), status: 0, revision: '' }));
    req.setTimeout(5_000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

export function startTraffic(dataDir: string, host: string, everyMs = 50): Traffic {
  const answers: Answer[] = [];
  let on = true;
  const loop = (async () => {
    while (on) {
      const router = routerOf(dataDir);
      if (router) answers.push(await once(router, host));
      else answers.push({ at: Date.now(), status: 0, revision: '' });
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    answers,
    since: (t) => answers.filter((a) => a.at >= t),
    async stop() {
      on = false;
      await loop;
    },
  };
}
