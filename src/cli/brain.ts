// The brain: the rollout controller, the alert dispatcher and the Git source, behind one HTTP port
// (`POST /hooks/git`, `/metrics`, `/healthz`). The same code runs embedded (`sluice start`) and on a
// cluster (`sluice controller`); only the kubeconfig and the Prometheus URL differ. GitOps and the rollout
// controller run only while this process holds the `sluice-controller` Lease; a follower forwards push
// webhooks to the leader.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { KubeClient, LeaderElector, R } from '../kube/index.js';
import {
  startRolloutController,
  ControllerMetrics,
  EventNotifier,
  type RolloutController,
  type Notifier,
  type RolloutNotification,
} from '../rollout/controller/index.js';
import {
  AlertDispatcher,
  AlertNotifier,
  KubeSecretResolver,
  claimAlert,
  type BrokerLike,
  type SecretLike,
} from '../alerts/index.js';
import { startGitOps, type GitOps } from '../gitops/index.js';
import type { Logger } from '../observability/logger.js';
import { redactUrl } from '../observability/logger.js';
import type { Clock } from '../util/clock.js';
import { startDashboard, type Dashboard } from '../dashboard/index.js';
import type { MetricFamilySetting } from '../rollout/analysis/families.js';
import { createManifestCheck, defaultCrdDir } from './manifest-checks.js';
import { join } from 'node:path';
import { packageRoot } from './package-root.js';
import { ER } from '../eventing/reconciler/resources.js';

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
  /**
   * Lease holder identity. Default: host name plus a random suffix, as client-go does, so two replicas on one
   * machine never share one. `sluice start` passes a stable one so a restarted process leads again at once.
   */
  identity?: string;
  leaseNamespace?: string;
  /**
   * Watch and act in this namespace only (Services, Rollouts, policies, the dashboard; GitOps puts manifests that
   * name no namespace and its status there), for a Role instead of a ClusterRole. Default: every namespace.
   */
  watchNamespace?: string;
  /** Lease timing (defaults 15 s and 2 s, client-go's defaults are 15 s and 2 s). */
  leaseDurationSec?: number;
  leaseRetryMs?: number;
  /** Where followers reach this replica's HTTP port (default: the listening URL). */
  advertiseUrl?: string;
  /** The dashboard under /dashboard: its signing key lives in `dataDir`; readOnly refuses every action. */
  dashboard?: { dataDir: string; readOnly?: boolean };
  /** Knative request metrics family for builtin checks (default auto). */
  metricsFamily?: MetricFamilySetting;
  /**
   * The embedded router's URL (endpoints.json `router`), asked at each `type: broker` alert; undefined or absent
   * on a cluster, where a Broker's address URL is reachable as it is.
   */
  routerUrl?: () => Promise<string | undefined>;
}

export interface Brain {
  url: string;
  /** The GitOps loop, while this replica leads (undefined otherwise). */
  readonly gitops: GitOps | undefined;
  isLeader(): boolean;
  /** A fresh one-time login URL of the dashboard for `user`; undefined without a dashboard. */
  dashboardUrl(user: string): string | undefined;
  dashboard: Dashboard | undefined;
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

/** The Lease annotation naming where the leader's HTTP port is, so followers can hand it push webhooks. */
export const LEADER_URL_ANNOTATION = 'delivery.sluice.dev/controller-url';

export async function startBrain(o: BrainOptions): Promise<Brain> {
  const log = o.log.child({ component: 'controller' });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const controllerMetrics = new ControllerMetrics(registry);
  const rolloutClient = o.client.withFieldManager('sluice-rollout');
  const dispatcher = new AlertDispatcher({
    secrets: new KubeSecretResolver(
      (ns, name) => o.client.tryGet(R.secrets, ns, name) as Promise<SecretLike | undefined>,
    ),
    logger: log.child({ component: 'alerts' }),
    registry,
    clock: o.clock,
    broker: {
      getBroker: (ns, name) => o.client.tryGet(ER.brokers, ns, name) as Promise<BrokerLike | undefined>,
      ...(o.routerUrl ? { routerUrl: o.routerUrl } : {}),
    },
  });
  const leaseNamespace = o.leaseNamespace ?? 'default';
  const startGit = async (): Promise<GitOps | undefined> => {
    if (!o.git) return undefined;
    const g = await startGitOps({
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
      ...(o.watchNamespace ? { namespace: o.watchNamespace, statusNamespace: o.watchNamespace } : {}),
      // Knative's admission and the CRD schema, so a bad manifest is reported at its file:line:column.
      check: await createManifestCheck(defaultCrdDir(packageRoot())),
    });
    log.info(
      { repo: redactUrl(o.git.repo), branch: o.git.branch ?? '(default)', path: o.git.path ?? '.' },
      'following Git',
    );
    return g;
  };
  const events = new EventNotifier(rolloutClient);
  // The de-duplication state is on the Rollout, so a new leader does not alert again what the old one sent.
  const alerting = new AlertNotifier(dispatcher, {
    also: events,
    claim: (n) => claimAlert(rolloutClient, R.rollouts, n.namespace, n.service, n.id),
  });

  // Everything that writes — GitOps apply, poll and revert, the failed-template marks, the rollout controller —
  // runs only while this replica holds the Lease. Its memory is in the API (the gitops status ConfigMap, the
  // Rollout objects), read afresh at each start of leadership, so a new leader resumes where the old one was.
  let gitops: GitOps | undefined;
  let controller: RolloutController | undefined;
  /** Bumped on every change of leadership, so a start that finishes after a loss undoes itself. */
  let term = 0;
  const lead = async (myTerm: number): Promise<void> => {
    const g = await startGit();
    if (myTerm !== term) return void (await g?.close());
    gitops = g;
    const notifier: Notifier = g ? new GitAwareNotifier(alerting, o.client, g, log) : alerting;
    controller = startRolloutController({
      client: rolloutClient,
      prometheusUrl: o.prometheusUrl,
      clock: o.clock,
      log,
      notifier,
      metrics: controllerMetrics,
      ...(o.watchNamespace ? { namespace: o.watchNamespace } : {}),
      ...(o.policiesDir ? { policiesDir: o.policiesDir } : {}),
      ...(o.metricsFamily ? { metricsFamily: o.metricsFamily } : {}),
    });
    controller.ready.catch((e: unknown) => log.error({ err: e }, 'rollout controller failed to start'));
  };
  const stepDown = async (): Promise<void> => {
    const c = controller;
    const g = gitops;
    controller = undefined;
    gitops = undefined;
    await c?.close();
    await g?.close();
  };

  let dashboard: Dashboard | undefined;
  const server: Server = createServer((req, res) => {
    if (dashboard?.handle(req, res)) return;
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/hooks/git') {
      if (req.method !== 'POST') {
        res.writeHead(405, { 'Content-Type': 'text/plain', Allow: 'POST' });
        return res.end(`${req.method ?? ''} is not allowed on /hooks/git; push events are POSTed\n`);
      }
      if (!o.git) {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        return res.end('GitOps is not configured: start Sluice with --repo to accept push webhooks\n');
      }
      if (gitops) return gitops.handler(req, res);
      // One hop only: a forwarded webhook that meets a replica which has just lost the lease is not bounced back.
      if (req.headers['x-sluice-forwarded-by']) {
        res.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '5' });
        return res.end(JSON.stringify({ error: 'leadership is changing; redeliver the webhook' }) + '\n');
      }
      return void forwardToLeader(req, res);
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
        JSON.stringify({ leader: elector.isLeader, identity, gitops: gitops ? gitops.status() : null }, null, 2) + '\n',
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
  const url = `http://${o.host === '0.0.0.0' ? '127.0.0.1' : o.host}:${port}`;
  const identity = o.identity ?? `${hostname()}_${randomUUID()}`;

  /**
   * A push webhook that reaches a follower (a Service spreads requests over both replicas) is handed to the
   * leader named on the Lease, body and signature untouched, and the leader's answer is relayed; with no leader
   * reachable the sender gets 503 and a sentence saying so (GitHub and GitLab show it and allow redelivery;
   * the leader's poll catches up in any case).
   */
  const forwardToLeader = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const unavailable = (why: string): void => {
      if (res.headersSent) return void res.end();
      res.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '5' });
      res.end(JSON.stringify({ error: `this replica is not the leader and ${why}; redeliver the webhook` }) + '\n');
    };
    try {
      const lease = await o.client.tryGet(R.leases, leaseNamespace, LEASE_NAME);
      const target = lease?.metadata.annotations?.[LEADER_URL_ANNOTATION];
      if (!target) return unavailable('no leader is known yet');
      if (target === advertise) return unavailable('it is only now becoming the leader');
      const body = await readLimited(req, MAX_FORWARD_BYTES);
      const headers: Record<string, string> = { 'x-sluice-forwarded-by': identity };
      for (const [k, v] of Object.entries(req.headers))
        if (typeof v === 'string' && FORWARDED_HEADERS.test(k)) headers[k] = v;
      const r = await fetch(new URL('/hooks/git', target), { method: 'POST', headers, body, redirect: 'error' });
      const text = await r.text();
      res.writeHead(r.status, { 'Content-Type': r.headers.get('content-type') ?? 'application/json' });
      res.end(text);
      log.info({ leader: target, status: r.status }, 'forwarded a push webhook to the leader');
    } catch (e) {
      unavailable(`the leader could not be reached (${e instanceof Error ? e.message : String(e)})`);
    }
  };
  const advertise = o.advertiseUrl ?? url;

  const elector = new LeaderElector(o.client, {
    namespace: leaseNamespace,
    name: LEASE_NAME,
    identity,
    clock: o.clock,
    retryPeriodMs: o.leaseRetryMs ?? 2_000,
    leaseDurationSec: o.leaseDurationSec ?? 15,
    annotations: { [LEADER_URL_ANNOTATION]: advertise },
    onStartedLeading: () => {
      const myTerm = ++term;
      log.info({ identity }, 'leading: starting GitOps and the rollout controller');
      void lead(myTerm).catch((e: unknown) => log.error({ err: e }, 'could not start leading'));
    },
    onStoppedLeading: () => {
      term++;
      log.warn({ identity }, 'lost the lease: stopping GitOps and the rollout controller');
      void stepDown();
    },
  });
  elector.start();
  if (o.dashboard)
    dashboard = startDashboard({
      client: o.client.withFieldManager('sluice-dashboard'),
      dataDir: o.dashboard.dataDir,
      assetsDir: join(packageRoot(), 'src', 'dashboard', 'assets'),
      host: o.host,
      port,
      readOnly: o.dashboard.readOnly === true,
      ...(o.watchNamespace ? { namespace: o.watchNamespace } : {}),
      now: () => o.clock.now(),
      log: log.child({ component: 'dashboard' }),
    });

  return {
    url,
    get gitops() {
      return gitops;
    },
    dashboard,
    dashboardUrl: (user) => dashboard?.loginUrl(url, user),
    isLeader: () => elector.isLeader,
    async close() {
      elector.stop();
      dashboard?.close();
      term++;
      await stepDown();
      await dispatcher.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const LEASE_NAME = 'sluice-controller';
const MAX_FORWARD_BYTES = 1024 * 1024;
/** What a push webhook's verification and parsing need; nothing else crosses to the leader. */
const FORWARDED_HEADERS =
  /^(content-type|x-github-event|x-github-delivery|x-hub-signature-256|x-gitea-event|x-gitea-delivery|x-gitlab-event|x-gitlab-token|x-gitlab-event-uuid|user-agent)$/;

async function readLimited(req: IncomingMessage, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    const b = c as Buffer;
    n += b.length;
    if (n > max) throw new Error(`the webhook body is over ${max} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}
