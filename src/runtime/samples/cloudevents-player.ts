// The cloudevents-player of the Knative getting-started tutorial (ruromero/cloudevents-player), as a local
// sample with the player's HTTP surface:
//   POST /            receive a CloudEvent (binary or structured), listed as RECEIVED; 202
//   GET  /messages    newest first, ?page=0&size=10: {id, receivedAt, subject, eventType, source, extensions, data, type}
//   POST /messages    send the CloudEvent in the request to BROKER_URI, else K_SINK (SinkBinding), else the
//                     broker-ingress URL of BROKER_NAMESPACE/BROKER_NAME (PLAYER_MODE=LOCAL: to its own
//                     POST /); listed as SENT or FAILED; 202
//   DELETE /messages  clear; 202
//   GET  /            a small page to send events and watch them come back
// Cluster-local URLs are reached through $HTTP_PROXY, which Sluice sets to its router for revision processes.
import { createServer, request, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { HTTP, type CloudEvent } from 'cloudevents';
import { serve } from './lifeline.js';

type Kind = 'SENDING' | 'SENT' | 'RECEIVED' | 'FAILED';
interface Message {
  id: string;
  receivedAt: string;
  subject: string | null;
  eventType: string;
  source: string;
  extensions: Record<string, string>;
  data: unknown;
  type: Kind;
}

const MAX_MESSAGES = 200;
const MAX_BODY = 1024 * 1024;
const CONTEXT = new Set([
  'id',
  'source',
  'type',
  'specversion',
  'subject',
  'time',
  'datacontenttype',
  'dataschema',
  'data',
  'data_base64',
]);
let messages: Message[] = [];

function record(e: Record<string, unknown>, type: Kind): void {
  const extensions: Record<string, string> = {};
  for (const [k, v] of Object.entries(e)) if (!CONTEXT.has(k) && v !== undefined) extensions[k] = String(v);
  messages.unshift({
    id: String(e['id'] ?? ''),
    receivedAt: new Date().toISOString(),
    subject: e['subject'] === undefined ? null : String(e['subject']),
    eventType: String(e['type'] ?? ''),
    source: String(e['source'] ?? ''),
    extensions,
    data: e['data'] ?? null,
    type,
  });
  messages = messages.slice(0, MAX_MESSAGES);
}

async function readBody(req: IncomingMessage): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw new Error('body too large');
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function brokerTarget(): string {
  // PLAYER_MODE=LOCAL: the player's "broker" is its own `POST /` (a loop-back, no Knative needed), at the
  // address it listens on (the player says localhost; Sluice binds revision processes to SLUICE_BIND_HOST).
  if ((process.env['PLAYER_MODE'] ?? 'KNATIVE').toUpperCase() === 'LOCAL')
    return `http://${process.env['SLUICE_BIND_HOST'] ?? '127.0.0.1'}:${process.env['PORT'] ?? '8080'}/`;
  const ns = process.env['BROKER_NAMESPACE'] ?? 'default';
  const name = process.env['BROKER_NAME'] ?? 'default';
  return (
    process.env['BROKER_URI'] ||
    process.env['K_SINK'] ||
    `http://broker-ingress.knative-eventing.svc.cluster.local/${ns}/${name}`
  );
}

function noProxy(host: string): boolean {
  const list = (process.env['NO_PROXY'] ?? process.env['no_proxy'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return list.some((n) => n === '*' || host === n || host.endsWith(n.startsWith('.') ? n : `.${n}`));
}

/** POST through $HTTP_PROXY (absolute-form request line) unless the host is in $NO_PROXY. */
function post(url: string, headers: OutgoingHttpHeaders, body: string): Promise<number> {
  const u = new URL(url);
  const proxy = process.env['HTTP_PROXY'] ?? process.env['http_proxy'];
  const via = proxy && !noProxy(u.hostname) ? new URL(proxy) : undefined;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: via ? via.hostname : u.hostname,
        port: via ? via.port || 80 : u.port || 80,
        method: 'POST',
        path: via ? u.toString() : `${u.pathname}${u.search}`,
        headers: { ...headers, host: u.host, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.once('error', reject);
    req.setTimeout(60_000, () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}

const PAGE = `<!doctype html><html><head><title>CloudEvents Player</title><meta charset="utf-8"></head>
<body><h1>CloudEvents Player</h1>
<form id="f">id <input name="id"> type <input name="type" value="some-type"> source <input name="source" value="cloudevents-player">
message <input name="message" value="Hello CloudEvents!"> <button>Send event</button></form>
<h2>Activity</h2><ul id="a"></ul>
<script>
const f=document.getElementById('f');
f.onsubmit=async(e)=>{e.preventDefault();const d=new FormData(f);
await fetch('messages',{method:'POST',headers:{'ce-id':d.get('id')||String(Date.now()),'ce-type':d.get('type'),'ce-source':d.get('source'),'ce-specversion':'1.0','content-type':'application/json'},body:JSON.stringify({message:d.get('message')})});};
setInterval(async()=>{const m=await (await fetch('messages?page=0&size=200')).json();
document.getElementById('a').innerHTML=m.map(x=>'<li>'+x.type+' '+x.eventType+' '+x.id+' '+JSON.stringify(x.data)+'</li>').join('');},1000);
</script></body></html>`;

const server = createServer((req, res) => {
  const u = new URL(req.url ?? '/', 'http://x');
  const done = (status: number, body = '', type = 'text/plain; charset=utf-8'): void => {
    res.writeHead(status, body ? { 'content-type': type } : {});
    res.end(body);
  };
  void (async () => {
    try {
      if (u.pathname === '/' && req.method === 'GET') return done(200, PAGE, 'text/html; charset=utf-8');
      if (u.pathname === '/healthz') return done(200, 'ok\n');
      if (u.pathname === '/messages' && req.method === 'GET') {
        const page = Math.max(0, Number(u.searchParams.get('page') ?? '0') || 0);
        const size = Math.min(MAX_MESSAGES, Math.max(1, Number(u.searchParams.get('size') ?? '10') || 10));
        return done(200, JSON.stringify(messages.slice(page * size, page * size + size)), 'application/json');
      }
      if (u.pathname === '/messages' && req.method === 'DELETE') {
        req.resume();
        messages = [];
        return done(202);
      }
      const body = await readBody(req);
      const headers = req.headers as Record<string, string>;
      if (u.pathname === '/' && req.method === 'POST') {
        const e = HTTP.toEvent({ headers, body }) as CloudEvent<unknown> | CloudEvent<unknown>[];
        for (const x of Array.isArray(e) ? e : [e]) {
          x.validate();
          record(x.toJSON() as Record<string, unknown>, 'RECEIVED');
        }
        return done(202);
      }
      if (u.pathname === '/messages' && req.method === 'POST') {
        const e = HTTP.toEvent({ headers, body }) as CloudEvent<unknown> | CloudEvent<unknown>[];
        const ev = Array.isArray(e) ? e[0] : e;
        if (!ev) return done(400, 'no event\n');
        ev.validate();
        const structured = (headers['content-type'] ?? '').startsWith('application/cloudevents+json');
        const msg = structured ? HTTP.structured(ev) : HTTP.binary(ev);
        let status = 0;
        try {
          status = await post(brokerTarget(), msg.headers as OutgoingHttpHeaders, String(msg.body ?? ''));
        } catch (err) {
          console.error(
            `cloudevents-player: sending to ${brokerTarget()} failed: ${err instanceof Error ? err.message : String(err)}`,
          );
        }
        record(ev.toJSON() as Record<string, unknown>, status >= 200 && status < 400 ? 'SENT' : 'FAILED');
        return done(202);
      }
      req.resume();
      return done(404, 'not found\n');
    } catch (err) {
      return done(400, `${err instanceof Error ? err.message : String(err)}\n`);
    }
  })();
});
serve(server, 'cloudevents-player');
