// `sluice controller`: the brain alone (rollout controller, analysis, alerts, Git source, and optionally the
// RolloutPolicy admission webhook), against a cluster running Knative or the embedded API server.
import { join, resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { createLogger } from '../observability/logger.js';
import { systemClock } from '../util/clock.js';
import { KubeClient } from '../kube/index.js';
import { startBrain } from './brain.js';
import { startPolicyWebhook } from './policy-webhook.js';
import { announce, type GitFlags } from './process-lifecycle.js';
import { supervised } from './supervisor.js';
import type { MetricFamilySetting } from '../rollout/analysis/families.js';

export interface ControllerOptions extends GitFlags {
  kubeconfig?: string;
  prometheusUrl: string;
  port: number;
  host: string;
  logLevel: string;
  workDir: string;
  policiesDir?: string;
  namespace: string;
  /** Watch and act in this namespace only (see BrainOptions.watchNamespace). */
  watchNamespace?: string;
  /** Writes `controller` into <data>/endpoints.json when given (standalone). */
  data?: string;
  /** Lease holder identity (default: host name + random suffix, as client-go). */
  identity?: string;
  /** Where other replicas reach this one (written on the Lease; followers forward push webhooks there). */
  advertiseUrl?: string;
  /** Lease duration; the retry period is 2/15 of it (client-go's 15 s / 2 s). */
  leaseDurationSec?: number;
  /** Serve the RolloutPolicy validating admission webhook (HTTPS) on this port, for this Service's DNS names. */
  admission?: { port: number; service: string };
  /** Knative request metrics for builtin checks (default auto: detected per namespace). */
  metricsFamily?: MetricFamilySetting;
  /** Dashboard: hide the buttons and refuse every action. */
  readOnly?: boolean;
}

function gitRest(o: GitFlags): Omit<NonNullable<GitFlags>, 'repo'> {
  return {
    ...(o.branch ? { branch: o.branch } : {}),
    ...(o.path ? { path: o.path } : {}),
    ...(o.pollCron !== undefined ? { pollCron: o.pollCron } : {}),
    ...(o.webhookSecret ? { webhookSecret: o.webhookSecret } : {}),
    ...(o.prune ? { prune: true } : {}),
  };
}

/**
 * Beside `sluice start` the router announces itself in <data>/endpoints.json (it may start after the brain, and
 * move when restarted), so the file is read at each use. No file or no `router` key: a cluster, undefined.
 */
function routerFromEndpoints(data: string): () => Promise<string | undefined> {
  return async () => {
    try {
      const eps: unknown = JSON.parse(await readFile(join(data, 'endpoints.json'), 'utf8'));
      const r = typeof eps === 'object' && eps !== null ? (eps as { router?: unknown }).router : undefined;
      return typeof r === 'string' && r !== '' ? r : undefined;
    } catch {
      return undefined;
    }
  };
}

/** `sluice controller`: only the brain, against a real cluster's Knative (or any Kubernetes API). */
export async function startController(o: ControllerOptions): Promise<void> {
  const log = createLogger({ level: o.logLevel, name: 'sluice' });
  const client = o.kubeconfig ? KubeClient.fromFile(o.kubeconfig, 'sluice') : KubeClient.fromDefault('sluice');
  const brain = await startBrain({
    client,
    prometheusUrl: o.prometheusUrl,
    workDir: resolve(o.workDir),
    port: o.port,
    host: o.host,
    clock: systemClock,
    log,
    leaseNamespace: o.namespace,
    ...(o.watchNamespace ? { watchNamespace: o.watchNamespace } : {}),
    // The dashboard's signing key lives with the data (where `sluice dashboard --data` finds it).
    dashboard: { dataDir: resolve(o.data ?? o.workDir), readOnly: o.readOnly === true },
    ...(o.metricsFamily ? { metricsFamily: o.metricsFamily } : {}),
    ...(o.identity ? { identity: o.identity } : {}),
    ...(o.advertiseUrl ? { advertiseUrl: o.advertiseUrl } : {}),
    ...(o.leaseDurationSec
      ? { leaseDurationSec: o.leaseDurationSec, leaseRetryMs: Math.max(200, (o.leaseDurationSec * 1000) / 7.5) }
      : {}),
    ...(o.policiesDir ? { policiesDir: resolve(o.policiesDir) } : {}),
    ...(o.data ? { routerUrl: routerFromEndpoints(resolve(o.data)) } : {}),
    ...(o.repo ? { git: { repo: o.repo, ...gitRest(o) } } : {}),
  });
  const webhook = o.admission
    ? await startPolicyWebhook({
        client,
        namespace: o.namespace,
        service: o.admission.service,
        port: o.admission.port,
        host: o.host,
        log: log.child({ component: 'admission' }),
      })
    : undefined;
  if (!supervised()) {
    process.stdout.write(`Sluice controller listening on ${brain.url} against ${client.server}\n`);
    process.stdout.write(
      `  dashboard: \`sluice dashboard --data ${o.data ?? o.workDir} --url ${brain.url}\` prints a login URL\n`,
    );
    if (webhook) process.stdout.write(`  admission webhook ${webhook.url}/validate/rolloutpolicies\n`);
  }
  const dashboard = brain.dashboardUrl(userInfo().username);
  await announce(o.data, { controller: brain.url, ...(dashboard ? { dashboard } : {}) }, log, async () => {
    await webhook?.close();
    await brain.close();
  });
}
