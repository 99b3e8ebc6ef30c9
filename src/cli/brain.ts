// The brain: the rollout controller, the alert dispatcher and the Git source, behind one HTTP port
// (`POST /hooks/git`, `/metrics`, `/healthz`). The same code runs embedded (`sluice start`) and on a
// cluster (`sluice controller`); only the kubeconfig and the Prometheus URL differ. The rollout
// controller runs only while this process holds the `sluice-controller` Lease.
import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { KubeClient, LeaderElector, R } from '../kube/index.js';
import {
  startRolloutController,
  EventNotifier,
  type RolloutController,
  type Notifier,
  type RolloutNotification,
} from '../rollout/controller/index.js';
import { AlertDispatcher, AlertNotifier, KubeSecretResolver, type SecretLike } from '../alerts/index.js';
import { startGitOps, type GitOps } from '../gitops/index.js';
import type { Logger } from '../observability/logger.js';
import { redactUrl } from '../observability/logger.js';
import type { Clock } from '../util/clock.js';
import type { MetricFamilySetting } from '../rollout/analysis/families.js';
import { createManifestCheck, defaultCrdDir } from './manifest-checks.js';
import { packageRoot } from './package-root.js';

export interface BrainOptions {
  client: KubeClient;
  prometheusUrl: string;
  policiesDir?: string;
  /** Git source; none: no GitOps (policies and Services come from the API only). */
  git?: {
    repo: string;
    branch?: string;
    path?: string;
    pollCron?: string | false;
    webhookSecret?: string;
    prune?: boolean;
  };
  workDir: string;
  port: number;
  host: string;
  clock: Clock;
  log: Logger;
  /** Lease holder identity: stable for one installation, so a restarted process leads again at once. */
  identity?: string;
  leaseNamespace?: string;
  /** Knative request metrics family for builtin checks (default auto). */
  metricsFamily?: MetricFamilySetting;
}

export interface Brain {
  url: string;
  gitops: GitOps | undefined;
  isLeader(): boolean;
  close(): Promise<void>;
}

/**
 * After a rollback, Git must not put the failed template back, and with `rollback.gitRevert` it gets a revert
 * commit. The commit is the one GitOps recorded on the Service when it applied it.
 */
class GitAwareNotifier implements Notifier {
  constructor(
    private readonly next: Notifier,
    private readonly client: KubeClient,
    private readonly gitops: GitOps,
    private readonly log: Logger,
  ) {}

  async notify(n: RolloutNotification): Promise<void> {
    await this.next.notify(n);
    if (n.event !== 'rolledBack') return;
    const svc = await this.client.tryGet(R.services, n.namespace, n.service);
    const commit = svc?.metadata.annotations?.['delivery.sluice.dev/git-commit'];
    if (!commit) return;
    await this.gitops.markFailed(`${n.namespace}/${n.service}`, commit);
    if (n.gitRevert) {
      try {
        const r = await this.gitops.revert(commit, {
          message: `Revert ${commit.slice(0, 12)}: rollout of ${n.namespace}/${n.service} rolled back\n\n${n.message}`,
        });
        this.log.info(
          { service: `${n.namespace}/${n.service}`, failed: commit, revert: r.commit },
          'pushed a revert of the failed commit',
        );
      } catch (e) {
        // A revert that cannot be pushed (a newer commit touched the same lines) is reported, not retried forever.
        this.log.warn(
          { service: `${n.namespace}/${n.service}`, failed: commit, err: e instanceof Error ? e.message : String(e) },
          'could not push a revert of the failed commit',
        );
      }
    }
  }
}

export async function startBrain(o: BrainOptions): Promise<Brain> {
  const log = o.log.child({ component: 'controller' });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const rolloutClient = o.client.withFieldManager('sluice-rollout');
  const dispatcher = new AlertDispatcher({
    secrets: new KubeSecretResolver(
      (ns, name) => o.client.tryGet(R.secrets, ns, name) as Promise<SecretLike | undefined>,
    ),
    logger: log.child({ component: 'alerts' }),
    registry,
    clock: o.clock,
  });
  let gitops: GitOps | undefined;
  if (o.git) {
    gitops = await startGitOps({
      client: o.client.withFieldManager('sluice-gitops'),
      repo: o.git.repo,
      workDir: o.workDir,
      log: log.child({ component: 'gitops' }),
      clock: o.clock,
      ...(o.git.branch ? { branch: o.git.branch } : {}),
      ...(o.git.path ? { path: o.git.path } : {}),
      ...(o.git.pollCron !== undefined ? { pollCron: o.git.pollCron } : {}),
      ...(o.git.webhookSecret ? { webhookSecret: o.git.webhookSecret } : {}),
      ...(o.git.prune ? { prune: true } : {}),
      // Knative's admission and the CRD schema, so a bad manifest is reported at its file:line:column.
      check: await createManifestCheck(defaultCrdDir(packageRoot())),
    });
    log.info(
      { repo: redactUrl(o.git.repo), branch: o.git.branch ?? '(default)', path: o.git.path ?? '.' },
      'following Git',
    );
  }
  const events = new EventNotifier(rolloutClient);
  const alerting = new AlertNotifier(dispatcher, { also: events });
  const notifier: Notifier = gitops ? new GitAwareNotifier(alerting, o.client, gitops, log) : alerting;

  let controller: RolloutController | undefined;
  const elector = new LeaderElector(o.client, {
    namespace: o.leaseNamespace ?? 'default',
    name: 'sluice-controller',
    identity: o.identity ?? hostname(),
    clock: o.clock,
    retryPeriodMs: 2_000,
    leaseDurationSec: 15,
    onStartedLeading: () => {
      log.info('leading: starting the rollout controller');
      controller = startRolloutController({
        client: rolloutClient,
        prometheusUrl: o.prometheusUrl,
        clock: o.clock,
        log,
        notifier,
        ...(o.policiesDir ? { policiesDir: o.policiesDir } : {}),
        ...(o.metricsFamily ? { metricsFamily: o.metricsFamily } : {}),
      });
      controller.ready.catch((e: unknown) => log.error({ err: e }, 'rollout controller failed to start'));
    },
    onStoppedLeading: () => {
      log.warn('lost the lease: stopping the rollout controller');
      const c = controller;
      controller = undefined;
      void c?.close();
    },
  });
  elector.start();

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/hooks/git') {
      if (req.method !== 'POST') {
        res.writeHead(405, { 'Content-Type': 'text/plain', Allow: 'POST' });
        return res.end(`${req.method ?? ''} is not allowed on /hooks/git; push events are POSTed\n`);
      }
      if (gitops) return gitops.handler(req, res);
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      return res.end('GitOps is not configured: start Sluice with --repo to accept push webhooks\n');
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      return res.end('ok\n');
    }
    if (path === '/metrics') {
      void registry.metrics().then((m) => {
        res.writeHead(200, { 'Content-Type': registry.contentType });
        res.end(m);
      });
      return;
    }
    if (path === '/') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(
        JSON.stringify({ leader: elector.isLeader, gitops: gitops ? gitops.status() : null }, null, 2) + '\n',
      );
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end(`no route for ${req.method ?? ''} ${path}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  return {
    url: `http://${o.host === '0.0.0.0' ? '127.0.0.1' : o.host}:${port}`,
    gitops,
    isLeader: () => elector.isLeader,
    async close() {
      elector.stop();
      await controller?.close();
      await gitops?.close();
      await dispatcher.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
