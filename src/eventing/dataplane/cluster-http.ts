// HTTP to the addresses Knative hands out — `http://<svc>.<ns>.svc.cluster.local`, the broker-ingress — from
// inside Sluice: cluster-local hosts go to the router's port with their Host header (the router owns them, and
// activates a revision scaled to zero); other hosts are reached directly. Bodies are buffered: events are small.
import { Agent, request, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';

export interface HttpResult {
  /** -1 when there was no HTTP response (connection error, timeout). */
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Why there was no response. */
  error?: string;
}

export type Sender = (
  url: string,
  headers: OutgoingHttpHeaders,
  body: Buffer,
  timeoutMs?: number,
) => Promise<HttpResult>;

const CLUSTER_SUFFIXES = ['.svc.cluster.local', '.svc'];
/** Responses larger than this are cut off: a subscriber's reply or error body is not a bulk transfer. */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

export function isClusterLocal(host: string): boolean {
  const h = host.toLowerCase();
  return CLUSTER_SUFFIXES.some((s) => h.endsWith(s));
}

/** A Sender that sends cluster-local URLs through the router at `routerUrl`. */
export function clusterSender(routerUrl: string): Sender & { close(): void } {
  const router = new URL(routerUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const send = (url: string, headers: OutgoingHttpHeaders, body: Buffer, timeoutMs?: number): Promise<HttpResult> =>
    new Promise((resolve) => {
      let u: URL;
      try {
        u = new URL(url);
      } catch {
        resolve({ status: -1, headers: {}, body: Buffer.alloc(0), error: `invalid URL ${JSON.stringify(url)}` });
        return;
      }
      const local = isClusterLocal(u.hostname);
      const req = request({
        host: local ? router.hostname : u.hostname,
        port: local ? router.port : u.port || 80,
        method: 'POST',
        path: `${u.pathname}${u.search}`,
        headers: { ...headers, host: u.host, 'content-length': body.length },
        agent,
      });
      let done = false;
      const finish = (r: HttpResult): void => {
        if (done) return;
        done = true;
        resolve(r);
      };
      if (timeoutMs !== undefined && timeoutMs > 0) {
        req.setTimeout(timeoutMs, () =>
          req.destroy(new Error(`no response within ${timeoutMs} ms (delivery.timeout)`)),
        );
      }
      req.once('error', (e) => finish({ status: -1, headers: {}, body: Buffer.alloc(0), error: e.message }));
      req.once('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= MAX_RESPONSE_BYTES) chunks.push(c);
        });
        res.once('end', () =>
          finish({ status: res.statusCode ?? -1, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.once('error', (e) => finish({ status: -1, headers: {}, body: Buffer.alloc(0), error: e.message }));
      });
      req.end(body);
    });
  return Object.assign(send, { close: () => agent.destroy() });
}
