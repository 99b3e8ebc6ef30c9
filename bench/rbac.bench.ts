// Cluster mode's costs. (1) Authorization per request: the pure RBAC walk over 50 ClusterRoleBindings and 50
// RoleBindings where the granting binding is the last one looked at (worst case), and the whole per-request hook
// (request attributes + the walk) — µs per call over 200,000 calls. (2) Durable writes per second through HTTPS
// with RBAC deciding (a ServiceAccount token, 50 bindings) vs the admin token (system:masters, decided before
// any binding is read: RBAC's cost off), same server, same run, 16 concurrent clients, 2,000 ConfigMap creates
// each. (3) Fail-over: two `sluice controller` processes (Lease 4 s); the leader gets SIGKILL; the time until
// the follower's `GET /` says it leads — its first action, since it writes the Lease to lead — p50 and p90 of
// 10 rounds, a fresh follower started each round.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { request, Agent } from 'node:https';
import { authorize, type RbacPolicy, type RequestAttributes, type BindingLike } from '../src/apiserver/rbac.js';
import { requestAttributes } from '../src/apiserver/request-info.js';
import { serviceAccountUser } from '../src/apiserver/authn.js';
import { startApiServer } from '../src/apiserver/index.js';
import { silentLogger } from '../src/observability/logger.js';
import { KubeClient, R } from '../src/kube/index.js';
import { ROOT, SLUICE_BIN, tempDir, removeDir, kubectl, waitFor } from '../test/support/procs.js';

const LEASE_SECONDS = 4;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}

function policyWith50(): RbacPolicy {
  const rb = (name: string, ns: string | undefined, role: string, kind: string, sa: string): BindingLike => ({
    metadata: { name, ...(ns ? { namespace: ns } : {}) },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind, name: role },
    subjects: [{ kind: 'ServiceAccount', name: sa, namespace: 'team' }],
  });
  const p: RbacPolicy = { clusterRoles: new Map(), roles: new Map(), clusterRoleBindings: [], roleBindings: new Map() };
  const rules = [{ verbs: ['get', 'list'], apiGroups: ['apps'], resources: ['deployments'] }];
  for (let i = 0; i < 50; i++) {
    p.clusterRoles.set(`role-${i}`, { metadata: { name: `role-${i}` }, rules });
    p.clusterRoleBindings.push(rb(`crb-${i}`, undefined, `role-${i}`, 'ClusterRole', `other-${i}`));
  }
  p.clusterRoles.set('writer', {
    metadata: { name: 'writer' },
    rules: [{ verbs: ['create'], apiGroups: [''], resources: ['configmaps'] }],
  });
  const rbs: BindingLike[] = [];
  for (let i = 0; i < 49; i++) rbs.push(rb(`rb-${i}`, 'default', `role-${i}`, 'ClusterRole', `other-${i}`));
  rbs.push(rb('rb-writer', 'default', 'writer', 'ClusterRole', 'bench'));
  p.roleBindings.set('default', rbs);
  return p;
}

function authzCost(): Record<string, number> {
  const p = policyWith50();
  const user = serviceAccountUser('team', 'bench', 'u');
  const a: RequestAttributes = requestAttributes(
    'POST',
    '/api/v1/namespaces/default/configmaps',
    new URLSearchParams(),
    user,
  );
  const N = 200_000;
  if (!authorize(a, p).allowed) throw new Error('the bench binding does not allow the request');
  let t = performance.now();
  for (let i = 0; i < N; i++) authorize(a, p);
  const walk = ((performance.now() - t) * 1000) / N;
  const q = new URLSearchParams();
  t = performance.now();
  for (let i = 0; i < N; i++) authorize(requestAttributes('POST', '/api/v1/namespaces/default/configmaps', q, user), p);
  const hook = ((performance.now() - t) * 1000) / N;
  const denied = { ...a, verb: 'delete' };
  t = performance.now();
  for (let i = 0; i < N; i++) authorize(denied, p);
  const deny = ((performance.now() - t) * 1000) / N;
  return { authz_50_bindings_allow_us: walk, authz_50_bindings_hook_us: hook, authz_50_bindings_deny_us: deny };
}

async function writes(): Promise<Record<string, number>> {
  const dir = await tempDir('sluice-bench-rbac-');
  const api = await startApiServer({ dataDir: join(dir, 'data'), log: silentLogger() });
  try {
    const cache = join(dir, 'cache');
    const k = (args: string[], input?: string) => kubectl(api.kubeconfigPath, cache, args, input);
    await k(['create', 'namespace', 'team']);
    await k(['create', 'serviceaccount', 'bench', '-n', 'team']);
    const objs: unknown[] = [];
    for (let i = 0; i < 50; i++) {
      objs.push({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: `role-${i}` },
        rules: [{ verbs: ['get'], apiGroups: ['apps'], resources: ['deployments'] }],
      });
      objs.push({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: `crb-${i}` },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `role-${i}` },
        subjects: [{ kind: 'ServiceAccount', name: `other-${i}`, namespace: 'team' }],
      });
    }
    objs.push(
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'writer' },
        rules: [{ verbs: ['create'], apiGroups: [''], resources: ['configmaps'] }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'writer', namespace: 'default' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'writer' },
        subjects: [{ kind: 'ServiceAccount', name: 'bench', namespace: 'team' }],
      },
    );
    const ap = await k(['apply', '-f', '-'], objs.map((o) => JSON.stringify(o)).join('\n'));
    if (ap.code !== 0) throw new Error(ap.stderr);
    const sa = (await k(['create', 'token', 'bench', '-n', 'team'])).stdout.trim();
    const u = new URL(api.url);
    const agent = new Agent({ keepAlive: true, maxSockets: 16, ca: api.caPem });
    const post = (token: string, name: string): Promise<number> =>
      new Promise((res, rej) => {
        const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { a: 'b' } });
        const r = request(
          {
            host: u.hostname,
            port: u.port,
            method: 'POST',
            path: '/api/v1/namespaces/default/configmaps',
            agent,
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          },
          (resp) => {
            resp.resume();
            resp.on('end', () => res(resp.statusCode ?? 0));
          },
        );
        r.on('error', rej);
        r.end(body);
      });
    const run = async (token: string, prefix: string): Promise<number> => {
      const N = 2000;
      let next = 0;
      const t = performance.now();
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < N) {
            const code = await post(token, `${prefix}-${next++}`);
            if (code !== 201) throw new Error(`create answered ${code}`);
          }
        }),
      );
      return N / ((performance.now() - t) / 1000);
    };
    // Alternate, so neither mode gets the warmer server.
    const admin: number[] = [];
    const rbac: number[] = [];
    for (let round = 0; round < 3; round++) {
      admin.push(await run(api.token, `admin-${round}`));
      rbac.push(await run(sa, `sa-${round}`));
    }
    agent.destroy();
    return { writes_admin_per_s: pct(admin, 50), writes_rbac_per_s: pct(rbac, 50) };
  } finally {
    await api.close();
    await removeDir(dir);
  }
}

async function failover(): Promise<Record<string, number>> {
  const dir = await tempDir('sluice-bench-failover-');
  const api = await startApiServer({ dataDir: join(dir, 'data'), log: silentLogger() });
  const procs: ChildProcess[] = [];
  try {
    const client = KubeClient.fromFile(api.kubeconfigPath, 'bench');
    await client.create(R.namespaces, { metadata: { name: 'sluice-system' } });
    const start = async (n: number): Promise<{ child: ChildProcess; url: string }> => {
      const data = join(dir, `c${n}`);
      const child = spawn(
        process.execPath,
        [
          SLUICE_BIN,
          'controller',
          '--kubeconfig',
          api.kubeconfigPath,
          '--prometheus-url',
          'http://127.0.0.1:9',
          '--no-repo',
          '--namespace',
          'sluice-system',
          '--port',
          '0',
          '--host',
          '127.0.0.1',
          '--data',
          data,
          '--lease-duration',
          String(LEASE_SECONDS),
          '--log-level',
          'warn',
        ],
        { cwd: ROOT, stdio: 'ignore' },
      );
      procs.push(child);
      const ep = await waitFor('controller endpoints', async () => {
        try {
          return JSON.parse(await readFile(join(data, 'endpoints.json'), 'utf8')) as { controller: string };
        } catch {
          return undefined;
        }
      });
      return { child, url: ep.controller };
    };
    const leads = async (url: string): Promise<boolean> =>
      ((await (await fetch(`${url}/`)).json()) as { leader: boolean }).leader;
    let leader = await start(0);
    await waitFor('the first leader', () => leads(leader.url), 20_000, 50);
    const times: number[] = [];
    for (let i = 1; i <= 10; i++) {
      const follower = await start(i);
      // The follower has tried (and failed) at least once before the kill: it is a follower, not a newcomer.
      await new Promise((r) => setTimeout(r, 1000));
      const t = performance.now();
      leader.child.kill('SIGKILL');
      await waitFor('the follower to lead', () => leads(follower.url), 30_000, 20);
      times.push((performance.now() - t) / 1000);
      leader = follower;
    }
    return {
      failover_p50_s: pct(times, 50),
      failover_p90_s: pct(times, 90),
      failover_lease_s: LEASE_SECONDS,
    };
  } finally {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
    await api.close();
    await removeDir(dir);
  }
}

export async function run(): Promise<Record<string, number>> {
  return { ...authzCost(), ...(await writes()), ...(await failover()) };
}
