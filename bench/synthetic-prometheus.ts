// A Prometheus-compatible `/api/v1/query` in its own process, for `bench/rollout.bench.ts` (scale part): it
// answers every revision named in the query (`revision_name=~"a|b|…"`) with a healthy value. At 10,000 rollouts
// an answer names 10,000 revisions; in the benchmark's own process it shared an event loop with the API server
// and the benchmark's watch and missed the controller's 5 s timeout, which measured the benchmark, not Sluice.
// Forked with an IPC channel. Messages out: {type: 'ready', url} once listening; {type: 'count', n} when asked
// with {type: 'count'}. {type: 'stop'} closes and exits.
import { createServer } from 'node:http';

const namespace = process.argv[2] ?? 'default';
let n = 0;
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (d: Buffer) => chunks.push(d));
  req.on('end', () => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/api/v1/query') {
      res.writeHead(404).end();
      return;
    }
    n++;
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const q = form.get('query') ?? url.searchParams.get('query') ?? '';
    const t = Number(form.get('time') ?? Date.now() / 1000);
    const m = /revision_name=~?"([^"]*)"/.exec(q);
    const revs = (m?.[1] ?? '')
      .split('|')
      .map((r) => r.replace(/\\\\/g, ''))
      .filter((r) => r !== '');
    const value = q.includes('5xx') ? '1' : '10';
    const result = revs.map((r) => ({ metric: { revision_name: r, namespace_name: namespace }, value: [t, value] }));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result } }));
  });
});
server.listen(0, '127.0.0.1', () => {
  const a = server.address();
  process.send?.({ type: 'ready', url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}` });
});
process.on('message', (msg: { type?: string }) => {
  if (msg.type === 'count') process.send?.({ type: 'count', n });
  else if (msg.type === 'stop') server.close(() => process.exit(0));
});
process.on('disconnect', () => process.exit(0));
