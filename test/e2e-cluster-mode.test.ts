// Cluster mode, proven as on a cluster, with real processes: `sluice apiserver`; `kubectl apply -k deploy/`
// (Namespace, ServiceAccount, ClusterRole and binding, Deployment, Service) with the real kubectl; a token from
// `kubectl create token sluice -n sluice-system`; `sluice serving` (reconcilers, router, revisions) in its own
// process with its own ServiceAccount token (test/fixtures/serving-rbac.yaml); a real Prometheus scraping its
// router; and two `sluice controller` replicas holding only the ServiceAccount's token, electing a leader
// through the Lease. A push webhook sent to the follower is handed to the leader; the leader is killed with
// SIGKILL mid-rollout and the follower finishes the rollout as the leader would have: a good template is
// promoted, a template answering 500 is rolled back with exactly one rollback alert and one revert commit, and
// the failed template is not applied again by either replica. Any 403 in a controller's log, or any request
// refused in the API server's audit log, fails the test: the ClusterRole is enough. Every wait is on a
// condition.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { simpleGit } from 'simple-git';
import { KubeClient, R, type ResourceRef } from '../src/kube/index.js';
import { createTestRemote, hubSignature, pushPayload, type TestRemote } from '../src/gitops/testing.js';
import { startPrometheus, type PrometheusHandle } from './support/prometheus.js';
import {
  ROOT,
  kubectl,
  removeDir,
  startSluice,
  tempDir,
  waitFor,
  helloServiceYaml,
  type SluiceProcess,
} from './support/procs.js';

const BRANCH = 'main';
const HOST = 'hello.default.svc.cluster.local';
const SECRET = `gh-${randomBytes(8).toString('hex')}`;
const LEASE_SECONDS = 4;
const SEL = 'namespace_name="{{namespace}}",revision_name="{{revision}}"';
const SUCCESS_RATE = `(sum(rate(revision_request_count{${SEL},response_code_class!="5xx"}[{{interval}}])) or sum(rate(revision_request_count{${SEL}}[{{interval}}])) * 0) / sum(rate(revision_request_count{${SEL}}[{{interval}}]))`;
const FIVE_HUNDRED = `          command: ["node", "-e", "require('http').createServer((q, s) => { s.writeHead(500); s.end('boom'); }).listen(process.env.PORT)"]\n`;

const policyYaml = (hook: string): string => `apiVersion: delivery.sluice.dev/v1alpha1
kind: RolloutPolicy
metadata: {name: hello, namespace: default}
spec:
  targetRef: {name: hello}
  strategy:
    canary:
      steps:
        - setWeight: 20
        - analysis: {}
        - setWeight: 50
        - pause: {duration: 2s}
        - analysis: {}
  analysis:
    interval: 1s
    window: 4s
    failureLimit: 2
    metrics:
      - name: success-rate
        query: '${SUCCESS_RATE}'
        thresholdRange: {min: 0.99}
        onNoData: hold
        noDataTimeout: 40s
  rollback: {to: pinned, gitRevert: true}
  progressDeadline: 90s
  alerts:
    - {type: webhook, url: "${hook}", secretRef: {name: hooks, key: hmac}}
`;

let dir: string;
let cache: string;
let api: SluiceProcess;
let serving: SluiceProcess;
let prom: PrometheusHandle;
let remote: TestRemote;
let client: KubeClient;
let saKubeconfig: string;
const controllers: SluiceProcess[] = [];
/** Output of every controller ever started (killed ones included), for the 403 check. */
const controllerLogs: Array<() => string> = [];
let receiver: Server;
let hookUrl: string;
const alerts: Array<{ event: string; canary: string }> = [];
const k = (args: string[], input?: string) => kubectl(join(api.dataDir, 'kubeconfig'), cache, args, input);

async function startController(n: number): Promise<SluiceProcess> {
  const d = join(dir, `controller-${n}`);
  const c = await startSluice('controller', d, [
    '--kubeconfig',
    saKubeconfig,
    '--prometheus-url',
    prom.url,
    '--repo',
    remote.bare,
    '--path',
    'apps',
    '--poll',
    '*/2 * * * * *',
    '--webhook-secret-file',
    join(dir, 'webhook-secret'),
    '--namespace',
    'sluice-system',
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--work-dir',
    join(d, 'git'),
    '--lease-duration',
    String(LEASE_SECONDS),
    // The RolloutPolicy admission webhook, as the Deployment runs it: certificates in a Secret, CA published into
    // deploy/webhook.yaml's configuration (part of the kustomization), all with the ServiceAccount's rights.
    '--admission-port',
    '0',
    '--log-level',
    'info',
  ]);
  controllerLogs.push(c.output);
  return c;
}

async function whoLeads(): Promise<{ leader: SluiceProcess; follower: SluiceProcess }> {
  return waitFor('one controller to lead', async () => {
    const live = controllers.filter((c) => c.child.exitCode === null && c.child.signalCode === null);
    const states = await Promise.all(
      live.map(async (c) => ((await (await fetch(`${c.endpoints.controller}/`)).json()) as { leader: boolean }).leader),
    );
    const leaders = live.filter((_, i) => states[i]);
    const followers = live.filter((_, i) => !states[i]);
    return leaders.length === 1 && followers.length >= 1 ? { leader: leaders[0]!, follower: followers[0]! } : undefined;
  });
}

async function rollout(): Promise<
  | {
      phase?: string;
      canaryRevision?: string;
      stableRevision?: string;
      currentStep?: number;
      canaryWeight?: number;
      message?: string;
    }
  | undefined
> {
  const ro = await client.tryGet(R.rollouts, 'default', 'hello');
  return (ro as { status?: Record<string, never> } | undefined)?.status;
}

function hit(): Promise<number> {
  const u = new URL(serving.endpoints.router ?? '');
  return new Promise((res) => {
    const req = request({ host: u.hostname, port: u.port, path: '/', headers: { host: HOST }, agent: false }, (r) => {
      r.resume();
      r.on('end', () => res(r.statusCode ?? 0));
    });
    req.on('error', () => res(0));
    req.setTimeout(5000, () => req.destroy());
    req.end();
  });
}
let trafficOn = false;
let traffic: Promise<void> | undefined;

async function postHook(to: SluiceProcess, commit: string): Promise<{ status: number; body: string }> {
  const payload = pushPayload(BRANCH, commit);
  const r = await fetch(`${to.endpoints.controller}/hooks/git`, {
    method: 'POST',
    body: payload,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': randomBytes(8).toString('hex'),
      'x-hub-signature-256': hubSignature(payload, SECRET),
    },
  });
  return { status: r.status, body: await r.text() };
}

const killed: number[] = [];
async function killLeaderWhen(
  what: string,
  cond: () => Promise<boolean>,
): Promise<{ at: number; next: SluiceProcess }> {
  const { leader, follower } = await whoLeads();
  await waitFor(what, cond, 60_000, 50);
  const at = Date.now();
  leader.child.kill('SIGKILL');
  killed.push(at);
  const leads = await waitFor(
    'the follower to lead',
    async () => {
      const s = (await (await fetch(`${follower.endpoints.controller}/`)).json()) as { leader: boolean };
      return s.leader ? Date.now() : undefined;
    },
    (LEASE_SECONDS + 10) * 1000,
    50,
  );
  console.log(
    `# failover: leader killed → follower leads in ${((leads - at) / 1000).toFixed(2)} s (lease ${LEASE_SECONDS} s)`,
  );
  assert.ok(
    leads - at <= (LEASE_SECONDS + 3) * 1000,
    'the follower takes over within the lease duration (+ retry periods on a loaded machine)',
  );
  return { at, next: follower };
}

before(async () => {
  dir = await tempDir('sluice-cluster-');
  cache = join(dir, 'kubectl-cache');
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const b = JSON.parse(body || '{}') as { canaryRevision?: string };
      alerts.push({ event: String(req.headers['x-sluice-event']), canary: b.canaryRevision ?? '' });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  hookUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;

  api = await startSluice('apiserver', join(dir, 'api'), ['--audit-log', join(dir, 'audit.log')]);
  client = KubeClient.fromFile(join(api.dataDir, 'kubeconfig'), 'e2e-test');
  // deploy/ exactly as a cluster operator installs it: `kubectl apply -k deploy/` (the Deployment and Service
  // are stored for a real cluster's kubelet; here the controllers are processes). The --prune rights
  // (deploy/prune.yaml) are not part of it, and these controllers run without --prune.
  const ap = await k(['apply', '-k', join(ROOT, 'deploy')]);
  assert.equal(ap.code, 0, ap.stderr);
  for (const line of [
    'namespace/sluice-system created',
    'serviceaccount/sluice created',
    'clusterrole.rbac.authorization.k8s.io/sluice created',
    'clusterrolebinding.rbac.authorization.k8s.io/sluice created',
    'deployment.apps/sluice created',
    'validatingwebhookconfiguration.admissionregistration.k8s.io/sluice-rolloutpolicy-validation created',
  ])
    assert.ok(ap.stdout.includes(line), `${line} in:\n${ap.stdout}`);
  assert.doesNotMatch(ap.stdout, /sluice-prune/);
  const tok = await k(['create', 'token', 'sluice', '-n', 'sluice-system', '--duration=2h']);
  assert.equal(tok.code, 0, tok.stderr);
  saKubeconfig = join(dir, 'sluice-sa.kubeconfig');
  const admin = await readFile(join(api.dataDir, 'kubeconfig'), 'utf8');
  await writeFile(saKubeconfig, admin.replace(/token: .*/, `token: ${tok.stdout.trim()}`), { mode: 0o600 });
  assert.equal((await k(['create', 'secret', 'generic', 'hooks', '--from-literal=hmac=k3y'])).code, 0);

  // `sluice serving` with its own identity too (test/fixtures/serving-rbac.yaml), not the admin token: every
  // request in this test is made by a ServiceAccount bound by RBAC, as on a cluster.
  const sr = await k(['apply', '-f', join(ROOT, 'test', 'fixtures', 'serving-rbac.yaml')]);
  assert.equal(sr.code, 0, sr.stderr);
  const stok = await k(['create', 'token', 'sluice-serving', '-n', 'sluice-system', '--duration=2h']);
  assert.equal(stok.code, 0, stok.stderr);
  const servingKubeconfig = join(dir, 'sluice-serving-sa.kubeconfig');
  await writeFile(servingKubeconfig, admin.replace(/token: .*/, `token: ${stok.stdout.trim()}`), { mode: 0o600 });
  serving = await startSluice('serving', join(dir, 'serving'), ['--kubeconfig', servingKubeconfig]);
  prom = await startPrometheus({ targets: [new URL(serving.endpoints.router ?? '').host] });

  remote = await createTestRemote(join(dir, 'git'), BRANCH);
  await remote.commit(
    { 'apps/hello.yaml': helloServiceYaml('World'), 'apps/policy.yaml': policyYaml(hookUrl) },
    'first',
  );
  await writeFile(join(dir, 'webhook-secret'), `${SECRET}\n`, { mode: 0o600 });
  controllers.push(await startController(1), await startController(2));
});

after(async () => {
  trafficOn = false;
  await traffic;
  for (const c of controllers) await c.stop();
  await serving?.stop();
  await prom?.stop();
  await api?.stop();
  await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
  await removeDir(dir);
});

test(
  'split topology with the ServiceAccount token: kill -9 the leader mid-rollout, the follower finishes (good → Succeeded, 500s → RolledBack once, reverted once)',
  { timeout: 240_000 },
  async () => {
    // The two replicas have distinct identities (host name + random suffix); exactly one leads.
    const ids = await Promise.all(
      controllers.map(
        async (c) => ((await (await fetch(`${c.endpoints.controller}/`)).json()) as { identity: string }).identity,
      ),
    );
    assert.notEqual(ids[0], ids[1]);
    await waitFor(
      'hello-00001 pinned and the Rollout Succeeded',
      async () => {
        const ro = await rollout();
        return ro?.phase === 'Succeeded' && ro.stableRevision === 'hello-00001';
      },
      60_000,
    );
    trafficOn = true;
    traffic = (async () => {
      while (trafficOn) {
        await hit();
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    // ---- a good template, announced to the follower: it hands the webhook to the leader ----
    const { follower } = await whoLeads();
    const good = await remote.commit({ 'apps/hello.yaml': helloServiceYaml('Second') }, 'say Second');
    const fwd = await postHook(follower, good);
    assert.equal(fwd.status, 202, fwd.body);
    await killLeaderWhen('the canary hello-00002 at step 2 (50 %)', async () => {
      const ro = await rollout();
      return ro?.canaryRevision === 'hello-00002' && ro.phase === 'Progressing' && (ro.currentStep ?? 0) >= 2;
    });
    const done = await waitFor(
      'the new leader promotes hello-00002',
      async () => {
        const ro = await rollout();
        if (ro?.canaryRevision === 'hello-00002' && ['RolledBack', 'Aborted'].includes(ro.phase ?? ''))
          throw new Error(`hello-00002: ${ro.phase}: ${ro.message}`);
        return ro?.phase === 'Succeeded' && ro.stableRevision === 'hello-00002' ? ro : undefined;
      },
      90_000,
    );
    assert.equal(done.stableRevision, 'hello-00002');

    // ---- a replacement replica joins as the follower; a template answering 500 ----
    controllers.push(await startController(3));
    const bad = await remote.commit({ 'apps/hello.yaml': helloServiceYaml('Broken', FIVE_HUNDRED) }, 'break it');
    const { leader: leader2 } = await whoLeads();
    assert.equal((await postHook(leader2, bad)).status, 202);
    await killLeaderWhen('the canary hello-00003 receiving traffic', async () => {
      const ro = await rollout();
      return ro?.canaryRevision === 'hello-00003' && ro.phase === 'Progressing' && (ro.canaryWeight ?? 0) > 0;
    });
    await waitFor(
      'hello-00003 rolled back to hello-00002',
      async () => {
        const ro = await rollout();
        return ro?.canaryRevision === 'hello-00003' && ro.phase === 'RolledBack' && ro.stableRevision === 'hello-00002';
      },
      90_000,
    );
    const bareGit = simpleGit({ baseDir: remote.bare });
    const revert = await waitFor(
      'a revert commit on the remote',
      async () => {
        const subjects = (await bareGit.raw(['log', '--format=%H %s', BRANCH])).trim().split('\n');
        return subjects[0]?.includes('Revert') ? subjects : undefined;
      },
      30_000,
    );
    // The revert is applied; neither replica puts the failed template back (several poll rounds pass).
    await waitFor(
      'the revert applied',
      async () => {
        const cm = await client
          .get(R.configMaps, 'sluice-system', 'sluice-gitops-status')
          .catch(() => client.get(R.configMaps, 'default', 'sluice-gitops-status'));
        return (cm as { data?: Record<string, string> }).data?.lastAppliedCommit === revert[0]!.split(' ')[0];
      },
      30_000,
    );
    await new Promise((r) => setTimeout(r, 5000));
    type WithTarget = {
      metadata: { name?: string };
      spec: {
        containers?: Array<{ env?: Array<{ value: string }> }>;
        template?: { spec: { containers: Array<{ env?: Array<{ value: string }> }> } };
      };
    };
    const svc = (await client.get(R.services, 'default', 'hello')) as unknown as WithTarget;
    assert.equal(svc.spec.template?.spec.containers[0]?.env?.[0]?.value, 'Second', 'the failed template stays out');
    // The revert makes one more revision of the good template (hello-00004); the broken one exists once.
    const revs = (await client.list(R.revisions, 'default')).items as unknown as WithTarget[];
    const broken = revs.filter((r) => r.spec.containers?.[0]?.env?.[0]?.value === 'Broken').map((r) => r.metadata.name);
    assert.deepEqual(
      broken,
      ['hello-00003'],
      `the broken template was applied once: ${revs.map((r) => r.metadata.name).join(', ')}`,
    );
    assert.equal(revert.filter((s) => s.includes('Revert')).length, 1, `one revert commit: ${revert.join(' | ')}`);
    await waitFor(
      'the rolledBack alert',
      () => alerts.some((a) => a.event === 'rolledBack' && a.canary === 'hello-00003'),
      20_000,
    );
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(
      alerts.filter((a) => a.event === 'rolledBack' && a.canary === 'hello-00003').length,
      1,
      JSON.stringify(alerts),
    );

    // The ClusterRole was enough: no request of either replica was refused.
    for (const out of controllerLogs) {
      const lines = out()
        .split('\n')
        .filter((l) => /forbidden|\b403\b/i.test(l));
      assert.deepEqual(lines, [], 'no 403 in a controller log');
    }
  },
);

interface AuditEvent {
  verb: string;
  user: { username: string };
  objectRef?: { resource: string; subresource?: string; apiGroup: string; namespace?: string; name?: string };
  requestURI: string;
  annotations: Record<string, string>;
}

async function auditEvents(): Promise<AuditEvent[]> {
  return (await readFile(join(dir, 'audit.log'), 'utf8'))
    .split('\n')
    .filter((l) => l)
    .map((l) => JSON.parse(l) as AuditEvent);
}

test('the admission webhook of both replicas: one certificate Secret, its CA published into deploy/webhook.yaml', async () => {
  type Vwc = { webhooks: Array<{ clientConfig: { caBundle?: string } }> };
  const vwc: ResourceRef = {
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    plural: 'validatingwebhookconfigurations',
    kind: 'ValidatingWebhookConfiguration',
    namespaced: false,
  };
  const published = await waitFor('the CA in the webhook configuration', async () => {
    const secret = (await client.tryGet(R.secrets, 'sluice-system', 'sluice-webhook-certs')) as
      { data?: Record<string, string> } | undefined;
    const cfg = (await client.tryGet(vwc, '', 'sluice-rolloutpolicy-validation')) as unknown as Vwc | undefined;
    const ca = secret?.data?.['ca.crt'];
    return ca && cfg?.webhooks.every((w) => w.clientConfig.caBundle === ca) ? ca : undefined;
  });
  assert.match(Buffer.from(published, 'base64').toString('utf8'), /BEGIN CERTIFICATE/);
});

test('the API server refused no request of either ServiceAccount (the controller and sluice serving): both roles are enough', async () => {
  const mine = new Set([
    'system:serviceaccount:sluice-system:sluice',
    'system:serviceaccount:sluice-system:sluice-serving',
  ]);
  const events = (await auditEvents()).filter((e) => mine.has(e.user.username));
  const by = (u: string) => events.filter((e) => e.user.username === u).length;
  assert.ok(
    by('system:serviceaccount:sluice-system:sluice') > 0,
    'the controllers made requests as their ServiceAccount',
  );
  assert.ok(
    by('system:serviceaccount:sluice-system:sluice-serving') > 0,
    'sluice serving made requests as its ServiceAccount',
  );
  const refused = events
    .filter((e) => e.annotations['authorization.k8s.io/decision'] !== 'allow')
    .map((e) => `${e.user.username} ${e.verb} ${e.requestURI}`);
  assert.deepEqual(refused, [], 'refused requests');
  // What the data plane's role is for, in this run (the Eventing rules are not exercised here).
  const used = new Set<string>();
  for (const e of events)
    if (e.user.username.endsWith(':sluice-serving') && e.objectRef)
      used.add(
        `${e.verb} ${e.objectRef.apiGroup}/${e.objectRef.resource}${e.objectRef.subresource ? `/${e.objectRef.subresource}` : ''}`,
      );
  console.log(`# used by sluice serving: ${[...used].sort().join(', ')}`);
});

test("deploy/controller.yaml's ClusterRoles are least privilege: every verb they grant was used by the brain", async () => {
  const docs = parseAllDocuments(await readFile(join(ROOT, 'deploy', 'controller.yaml'), 'utf8')).map(
    (d) => d.toJS() as { kind: string; rules?: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }> },
  );
  // The controller's ClusterRole, and the alert Secrets' one (bound in default, where the alert's Secret is).
  const roles = docs.filter(
    (d) =>
      d.kind === 'ClusterRole' &&
      ['sluice', 'sluice-alert-secrets'].includes((d as { metadata?: { name?: string } }).metadata?.name ?? ''),
  );
  assert.equal(roles.length, 2);
  const used = new Set<string>();
  for (const e of await auditEvents()) {
    if (e.user.username !== 'system:serviceaccount:sluice-system:sluice' || !e.objectRef) continue;
    const r = e.objectRef.subresource ? `${e.objectRef.resource}/${e.objectRef.subresource}` : e.objectRef.resource;
    used.add(`${e.verb} ${e.objectRef.apiGroup}/${r}`);
  }
  const granted: string[] = [];
  for (const rule of roles.flatMap((r) => r.rules ?? []))
    for (const g of rule.apiGroups)
      for (const r of rule.resources) for (const v of rule.verbs) granted.push(`${v} ${g}/${r}`);
  // Needed, but only when a Service is deleted and created again under the same name (its old Rollout goes).
  const rare = new Set([
    'delete delivery.sluice.dev/rollouts',
    // Eventing: only when a policy has a `type: broker` alert, and when Git holds Brokers/Triggers/SinkBindings.
    'get eventing.knative.dev/brokers',
    'patch eventing.knative.dev/brokers',
    'patch eventing.knative.dev/triggers',
    'patch sources.knative.dev/sinkbindings',
  ]);
  const unused = granted.filter((g) => !used.has(g) && !rare.has(g));
  console.log(`# used by the brain: ${[...used].sort().join(', ')}`);
  assert.deepEqual(unused, [], 'granted but never used');
});
