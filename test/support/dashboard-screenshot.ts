// Re-takes docs/dashboard.png: the dashboard mid-rollout, from a real `sluice start` with real revisions, a
// local Prometheus and steady traffic. Run: `npx tsc -p tsconfig.json && node dist/test/support/dashboard-screenshot.js`.
// The shot is taken while the canary holds at 50 % in a 2 min pause, after a passing analysis step.
import { request, Agent } from 'node:http';
import { join } from 'node:path';
import { KubeClient, R } from '../../src/kube/index.js';
import type { RolloutObject } from '../../src/rollout/controller/types.js';
import { launchChromium } from './chromium.js';
import { helloService } from './manifests.js';
import { ROOT, kubectl, removeDir, startSluice, tempDir, waitFor } from './procs.js';

const NS = 'default';
const SEL = 'namespace_name="{{namespace}}",revision_name="{{revision}}"';
const SUCCESS_RATE = `(sum(rate(revision_request_count{${SEL},response_code_class!="5xx"}[{{interval}}])) or sum(rate(revision_request_count{${SEL}}[{{interval}}])) * 0) / sum(rate(revision_request_count{${SEL}}[{{interval}}]))`;
const POLICY = {
  apiVersion: 'delivery.sluice.dev/v1alpha1',
  kind: 'RolloutPolicy',
  metadata: { name: 'hello', namespace: NS },
  spec: {
    targetRef: { name: 'hello' },
    strategy: {
      canary: {
        steps: [
          { setWeight: 20 },
          { analysis: {} },
          { setWeight: 50 },
          { pause: { duration: '2m' } },
          { setWeight: 80 },
          { pause: {} },
        ],
      },
    },
    analysis: {
      interval: '1s',
      window: '10s',
      failureLimit: 2,
      metrics: [{ name: 'success-rate', query: SUCCESS_RATE, thresholdRange: { min: 0.99 }, onNoData: 'hold' }],
    },
    rollback: { to: 'pinned' },
  },
};

const dir = await tempDir('sluice-shot-');
const sluice = await startSluice('start', join(dir, 'data'), ['--no-repo']);
const kubeconfig = join(sluice.dataDir, 'kubeconfig');
const client = KubeClient.fromFile(kubeconfig, 'screenshot');
const apply = async (...objs: object[]): Promise<void> => {
  const r = await kubectl(
    kubeconfig,
    join(dir, 'cache'),
    ['apply', '-f', '-'],
    objs.map((o) => JSON.stringify(o)).join('\n'),
  );
  if (r.code !== 0) throw new Error(r.stderr);
};
const agent = new Agent({ keepAlive: true, maxSockets: 4 });
let on = true;
const router = new URL(sluice.endpoints.router ?? '');
const traffic = (async () => {
  while (on) {
    await new Promise<void>((resolve) => {
      const q = request(
        {
          host: router.hostname,
          port: router.port,
          path: '/',
          headers: { host: `hello.${NS}.svc.cluster.local` },
          agent,
        },
        (res) => res.resume().on('end', () => resolve()),
      );
      q.on('error', () => resolve());
      q.end();
    });
    await new Promise((r) => setTimeout(r, 30));
  }
})();
const browser = await launchChromium();
try {
  await apply(POLICY, helloService(NS, 'hello', 'v1'));
  const phase = (pred: (r: RolloutObject) => boolean, what: string): Promise<RolloutObject> =>
    waitFor(
      what,
      async () => {
        const r = await client.tryGet<RolloutObject>(R.rollouts, NS, 'hello');
        return r && pred(r) ? r : undefined;
      },
      180_000,
      250,
    );
  await phase((r) => r.status?.stableRevision === 'hello-00001', 'first revision pinned');
  await apply(helloService(NS, 'hello', 'v2'));
  await phase((r) => r.status?.currentStep === 3 && r.status.canaryRevision === 'hello-00002', 'the 2 min pause');
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: 1280, height: 1400 });
  await page.goto((sluice.endpoints as { dashboard?: string }).dashboard ?? '');
  await page.goto(`${sluice.endpoints.controller}/dashboard/#/r/${NS}/hello`);
  await page.locator('#sentence').getByText('Progressing at step 4/6').waitFor({ timeout: 30_000 });
  await page.getByRole('button', { name: 'Promote', exact: true }).waitFor();
  await new Promise((r) => setTimeout(r, 5_000));
  await page.screenshot({ path: join(ROOT, 'docs', 'dashboard.png') });
  console.log('wrote docs/dashboard.png');
} finally {
  on = false;
  await traffic;
  await browser.close();
  await sluice.stop();
  agent.destroy();
  await removeDir(dir);
}
