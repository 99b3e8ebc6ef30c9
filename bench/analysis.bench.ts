// Queries per interval and wall time of one analysis round for N = 1, 10, 100 rollouts, batched (one query
// per metric template) vs Flagger's one query per rollout per metric, against a real Prometheus.
import { createServer } from 'node:http';
import { Counter, Registry } from 'prom-client';
import { startPrometheus, waitFor } from '../test/support/prometheus.js';
import { PrometheusClient } from '../src/rollout/analysis/prometheus.js';
import { AnalysisEngine, type AnalysisRequest } from '../src/rollout/analysis/engine.js';
import type { MetricSpec } from '../src/rollout/policy/types.js';

const METRICS: MetricSpec[] = [
  {
    name: 'success-rate',
    query:
      'sum(rate(revision_request_count{revision_name="{{revision}}",response_code_class!="5xx"}[{{interval}}])) / sum(rate(revision_request_count{revision_name="{{revision}}"}[{{interval}}]))',
    thresholdRange: { min: 0.98 },
  },
  {
    name: 'request-rate',
    query: 'sum(rate(revision_request_count{revision_name="{{revision}}"}[{{interval}}]))',
    thresholdRange: { min: 0 },
  },
];

export async function run(): Promise<Record<string, number | string>> {
  const N = [1, 10, 100];
  const registry = new Registry();
  const count = new Counter({
    name: 'revision_request_count',
    help: 'requests',
    labelNames: ['namespace_name', 'revision_name', 'response_code_class'],
    registers: [registry],
  });
  const rev = (i: number, canary: boolean): string => `svc${i}-0000${canary ? 2 : 1}`;
  const tick = (): void => {
    for (let i = 0; i < 100; i++) {
      for (const c of [true, false]) {
        count.inc({ namespace_name: 'default', revision_name: rev(i, c), response_code_class: '2xx' }, 99);
        count.inc({ namespace_name: 'default', revision_name: rev(i, c), response_code_class: '5xx' }, 1);
      }
    }
  };
  tick();
  const ticker = setInterval(tick, 100);
  const server = createServer((_req, res) => void registry.metrics().then((b) => res.end(b)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const prom = await startPrometheus({ targets: [`127.0.0.1:${port}`] });
  const out: Record<string, number | string> = {
    metrics: METRICS.length,
    prometheus: 'real, 1s scrape, 200 revisions',
  };
  try {
    const probe = new PrometheusClient({ url: prom.url });
    await waitFor(
      'rates for all revisions',
      async () => {
        const d = await probe.query('count(rate(revision_request_count{response_code_class="2xx"}[5s]) > 0)');
        return d.resultType === 'vector' && Number(d.result[0]?.value[1] ?? 0) === 200;
      },
      60_000,
    );
    for (const n of N) {
      const requests: AnalysisRequest[] = Array.from({ length: n }, (_, i) => ({
        key: `default/svc${i}`,
        namespace: 'default',
        service: `svc${i}`,
        revision: rev(i, true),
        stableRevision: rev(i, false),
        metrics: METRICS,
        windowMs: 5000,
      }));
      for (const mode of ['batched', 'perRollout'] as const) {
        const client = new PrometheusClient({ url: prom.url, timeoutMs: 10_000 });
        const engine = new AnalysisEngine({ client, batch: mode === 'batched', concurrency: 4 });
        await engine.run(requests, Date.now()); // warm-up
        const runs = 5;
        client.queries = 0;
        const t0 = performance.now();
        let passes = 0;
        for (let k = 0; k < runs; k++) {
          const rounds = await engine.run(requests, Date.now());
          for (const r of rounds.values()) passes += r.results.filter((x) => x.status === 'pass').length;
        }
        const ms = (performance.now() - t0) / runs;
        out[`n${n}_${mode}_queries_per_interval`] = client.queries / runs;
        out[`n${n}_${mode}_wall_ms`] = Math.round(ms * 10) / 10;
        out[`n${n}_${mode}_pass_ratio`] = Math.round((passes / (runs * n * METRICS.length)) * 1000) / 1000;
      }
    }
  } finally {
    clearInterval(ticker);
    await prom.stop();
    await new Promise<void>((r) => server.close(() => r()));
  }
  return out;
}
