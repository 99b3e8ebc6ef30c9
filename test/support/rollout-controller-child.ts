// A rollout controller in its own process, so a test can kill -9 it mid-rollout and start another.
// Usage: node rollout-controller-child.js KUBECONFIG PROMETHEUS_URL NAMESPACE
// Prints "ready" on stdout once its caches are filled; logs (pino JSON) go to stderr.
import { KubeClient } from '../../src/kube/index.js';
import { createLogger } from '../../src/observability/logger.js';
import { startRolloutController } from '../../src/rollout/controller/index.js';
import { systemClock } from '../../src/util/clock.js';

const [kubeconfig, prometheusUrl, namespace] = process.argv.slice(2);
if (!kubeconfig || !prometheusUrl || !namespace) {
  process.stderr.write('usage: rollout-controller-child KUBECONFIG PROMETHEUS_URL NAMESPACE\n');
  process.exit(2);
}
const ctl = startRolloutController({
  client: KubeClient.fromFile(kubeconfig, 'sluice-rollout'),
  prometheusUrl,
  namespace,
  clock: systemClock,
  log: createLogger({ level: 'info', name: 'rollout-child' }),
});
await ctl.ready;
process.stdout.write('ready\n');
process.on('SIGTERM', () => void ctl.close().then(() => process.exit(0)));
