// Knative's autoscale-go sample: `?sleep=MS` waits, `?prime=N` burns CPU finding the largest prime below N,
// `?bloat=MB` holds memory for the request; used to exercise concurrency-based autoscaling.
import { createServer } from 'node:http';
import { serve, sleep } from './lifeline.js';

function largestPrimeBelow(max: number): number {
  for (let n = max - 1; n >= 2; n--) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) return n;
  }
  return 0;
}

const server = createServer((req, res) => {
  req.resume();
  const q = new URL(req.url ?? '/', 'http://x').searchParams;
  const ms = Number(q.get('sleep') ?? 0) || 0;
  const max = Number(q.get('prime') ?? 0) || 0;
  const mb = Number(q.get('bloat') ?? 0) || 0;
  void (async () => {
    const started = performance.now();
    const held = mb > 0 ? Buffer.alloc(mb * 1024 * 1024, 1) : undefined;
    if (ms > 0) await sleep(ms);
    let out = '';
    if (ms > 0) out += `Slept for ${(performance.now() - started).toFixed(2)} milliseconds.\n`;
    if (max > 0) out += `The largest prime less than ${max} is ${largestPrimeBelow(max)}.\n`;
    if (held) out += `Allocated ${held.length / (1024 * 1024)} Mb of memory.\n`;
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(out);
  })();
});
serve(server, 'autoscale');
