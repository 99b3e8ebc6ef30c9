// One readiness check against a process on loopback, like the kubelet's (HTTP 200–399 passes) or Knative's
// queue-proxy default TCP check.
import { request } from 'node:http';
import { connect } from 'node:net';
import type { Probe } from './types.js';

export type ProbeAction = { kind: 'http'; path: string; headers: Record<string, string> } | { kind: 'tcp' };

export interface ProbeResult {
  ok: boolean;
  /** e.g. `HTTP probe GET /healthz returned 503` or `TCP probe: connect ECONNREFUSED`. */
  detail: string;
}

export function probeAction(p: Probe | undefined): ProbeAction {
  if (p?.httpGet) {
    const headers: Record<string, string> = { 'user-agent': 'kube-probe/sluice', 'k-kubelet-probe': 'queue' };
    for (const h of p.httpGet.httpHeaders ?? []) headers[h.name.toLowerCase()] = h.value;
    const path = p.httpGet.path ?? '/';
    return { kind: 'http', path: path.startsWith('/') ? path : `/${path}`, headers };
  }
  return { kind: 'tcp' };
}

export function runProbe(action: ProbeAction, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    if (action.kind === 'tcp') {
      const sock = connect({ host: '127.0.0.1', port });
      const done = (r: ProbeResult): void => {
        sock.destroy();
        resolve(r);
      };
      sock.setTimeout(timeoutMs, () =>
        done({ ok: false, detail: `TCP probe on port ${port} timed out after ${timeoutMs} ms` }),
      );
      sock.once('connect', () => done({ ok: true, detail: `TCP probe on port ${port} connected` }));
      sock.once('error', (e: NodeJS.ErrnoException) =>
        done({ ok: false, detail: `TCP probe on port ${port}: ${e.code ?? e.message}` }),
      );
      return;
    }
    const req = request({
      host: '127.0.0.1',
      port,
      path: action.path,
      method: 'GET',
      headers: action.headers,
      agent: false,
      timeout: timeoutMs,
    });
    req.once('response', (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      resolve({ ok: code >= 200 && code < 400, detail: `HTTP probe GET ${action.path} returned ${code}` });
    });
    req.once('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.once('error', (e: NodeJS.ErrnoException) =>
      resolve({ ok: false, detail: `HTTP probe GET ${action.path}: ${e.code ?? e.message}` }),
    );
    req.end();
  });
}
