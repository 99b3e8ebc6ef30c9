// Time from `git push` to the pushed objects being applied, against a real bare remote and the embedded API
// server: via a signed push webhook (p50 over 10 pushes) vs via the poll at its default interval (10 s; 3 pushes
// by default, SLUICE_BENCH_POLL_PUSHES to change). The clock starts just before `git push` and stops when a
// GET of the Service shows the pushed commit's annotation (checked every 5 ms).
import { createServer } from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startApiServer } from '../src/apiserver/index.js';
import { silentLogger } from '../src/observability/logger.js';
import { KubeClient, R } from '../src/kube/index.js';
import { startGitOps, COMMIT_ANNOTATION, type GitOps } from '../src/gitops/index.js';
import {
  createTestRemote,
  hubSignature,
  pushPayload,
  serviceYaml,
  configMapYaml,
  type TestRemote,
} from '../src/gitops/testing.js';
import { ROOT, tempDir, removeDir } from '../test/support/procs.js';

const SECRET = 'bench-secret';

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}

async function commitOnly(remote: TestRemote, i: number): Promise<string> {
  await mkdir(join(remote.work, 'apps'), { recursive: true });
  await writeFile(join(remote.work, 'apps', 'web.yaml'), serviceYaml('web', `ghcr.io/example/web:v${i}`));
  await writeFile(join(remote.work, 'apps', 'config.yaml'), configMapYaml('web-config', { build: String(i) }));
  await remote.git.raw(['add', '-A']);
  await remote.git.raw(['commit', '-q', '-m', `v${i}`]);
  return (await remote.git.raw(['rev-parse', 'HEAD'])).trim();
}

async function appliedAt(client: KubeClient, sha: string, timeoutMs: number): Promise<number> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const s = await client.tryGet(R.services, 'default', 'web');
    if (s?.metadata.annotations?.[COMMIT_ANNOTATION] === sha) return performance.now();
    if (performance.now() > end) throw new Error(`commit ${sha} not applied within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export async function run(): Promise<Record<string, number | string>> {
  const dir = await tempDir('sluice-bench-gitops-');
  const api = await startApiServer({
    dataDir: join(dir, 'data'),
    crdDirs: [join(ROOT, 'deploy', 'crds')],
    log: silentLogger(),
  });
  const client = KubeClient.fromFile(api.kubeconfigPath, 'bench');
  const remote = await createTestRemote(join(dir, 'git'));
  let gitops: GitOps | undefined;
  const server = createServer((req, res) => (gitops ? gitops.handler(req, res) : res.writeHead(503).end()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const hook = `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks/git`;
  const out: Record<string, number | string> = {};
  try {
    const first = await commitOnly(remote, 0);
    await remote.git.raw(['push', '-q', 'origin', 'HEAD:refs/heads/main']);
    // Webhook: poll off, so only the hook can be what applied the push.
    gitops = await startGitOps({
      client,
      repo: remote.bare,
      branch: 'main',
      path: 'apps',
      pollCron: false,
      webhookSecret: SECRET,
      workDir: join(dir, 'work-hook'),
      log: silentLogger(),
    });
    await gitops.syncNow();
    await appliedAt(client, first, 5000);
    const hookMs: number[] = [];
    const syncMs: number[] = [];
    for (let i = 1; i <= 10; i++) {
      const sha = await commitOnly(remote, i);
      const t0 = performance.now();
      await remote.git.raw(['push', '-q', 'origin', 'HEAD:refs/heads/main']);
      const body = pushPayload('main', sha);
      const res = await fetch(hook, {
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'push',
          'x-hub-signature-256': hubSignature(body, SECRET),
        },
      });
      if (res.status !== 202) throw new Error(`webhook answered ${res.status}`);
      const tHook = performance.now();
      const t1 = await appliedAt(client, sha, 5000);
      hookMs.push(t1 - t0);
      syncMs.push(t1 - tHook);
    }
    await gitops.close();
    out.webhook_pushes = hookMs.length;
    out.webhook_push_to_applied_p50_ms = pct(hookMs, 50);
    out.webhook_push_to_applied_p90_ms = pct(hookMs, 90);
    out.webhook_push_to_applied_max_ms = Math.max(...hookMs);
    out.webhook_hook_to_applied_p50_ms = pct(syncMs, 50);

    // Poll at the default interval (every 10 s): the wait is on average half the interval.
    const n = Number(process.env.SLUICE_BENCH_POLL_PUSHES ?? 3);
    gitops = await startGitOps({
      client,
      repo: remote.bare,
      branch: 'main',
      path: 'apps',
      workDir: join(dir, 'work-poll'),
      log: silentLogger(),
    });
    await gitops.syncNow();
    const pollMs: number[] = [];
    for (let i = 11; i < 11 + n; i++) {
      const sha = await commitOnly(remote, i);
      // Push at a uniformly random point of the 10 s interval, as real pushes are (the previous push was applied
      // right after a tick, so waiting 0-10 s spreads this push over the whole interval: expected wait ≈ 5 s).
      await new Promise((r) => setTimeout(r, Math.random() * 10_000));
      const t0 = performance.now();
      await remote.git.raw(['push', '-q', 'origin', 'HEAD:refs/heads/main']);
      pollMs.push((await appliedAt(client, sha, 15_000)) - t0);
    }
    await gitops.close();
    gitops = undefined;
    out.poll_interval = '*/10 * * * * * (default)';
    out.poll_pushes = pollMs.length;
    out.poll_push_to_applied_p50_ms = pct(pollMs, 50);
    out.poll_push_to_applied_max_ms = Math.max(...pollMs);
    out.poll_push_to_applied_mean_ms = pollMs.reduce((a, b) => a + b, 0) / pollMs.length;
    out.poll_over_webhook_p50_x = Number((pct(pollMs, 50) / pct(hookMs, 50)).toFixed(1));
    return out;
  } finally {
    await gitops?.close();
    await new Promise<void>((r) => server.close(() => r()));
    await api.close();
    await removeDir(dir);
  }
}
