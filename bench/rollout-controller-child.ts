// The rollout controller alone in its own process, for `bench/rollout.bench.ts` (scale part): its CPU and memory
// are then its own, not the API server's or the load's. Forked with an IPC channel and `--expose-gc`.
// Usage: node rollout-controller-child.js KUBECONFIG PROMETHEUS_URL
// Messages in:  {type: 'sample'} → {type: 'sample', cpu, mem, stats, at}; {type: 'gc'} → {type: 'gc'} after a GC;
//               {type: 'stop'} → closes and exits.
// Message out at start: {type: 'ready'} once the caches are filled. Logs (warn and above) go to stderr.
import { KubeClient } from '../src/kube/index.js';
import { createLogger } from '../src/observability/logger.js';
import { startRolloutController } from '../src/rollout/controller/index.js';
import { systemClock } from '../src/util/clock.js';

const [kubeconfig, prometheusUrl] = process.argv.slice(2);
if (!kubeconfig || !prometheusUrl || !process.send) {
  process.stderr.write('usage: (forked) rollout-controller-child KUBECONFIG PROMETHEUS_URL\n');
  process.exit(2);
}
const send = (m: unknown): void => void process.send?.(m);
// Defaults as `sluice start` runs it (brain.ts passes no concurrency or coalescing options).
const ctl = startRolloutController({
  client: KubeClient.fromFile(kubeconfig, 'sluice-rollout'),
  prometheusUrl,
  clock: systemClock,
  log: createLogger({ level: 'warn', name: 'rollout-bench-child' }),
});
await ctl.ready;
send({ type: 'ready' });
process.on('message', (m: { type?: string }) => {
  if (m.type === 'sample')
    send({
      type: 'sample',
      cpu: process.cpuUsage(),
      mem: process.memoryUsage(),
      stats: { ...ctl.stats },
      at: performance.now(),
    });
  else if (m.type === 'gc') {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    send({ type: 'gc' });
  } else if (m.type === 'stop') void ctl.close().then(() => process.exit(0));
});
