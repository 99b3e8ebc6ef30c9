// One chaos trial: a real `sluice start` (fresh data directory), the canary policy and Service of the reliability
// report (../shared/reference/reliability-2026-12-04.md), steady traffic through the router, a new template (good:
// answers 200; bad: answers 500), then one fault at a seeded random moment, and the verdict: the same decision as
// without the fault (good → Succeeded on hello-00002; bad → RolledBack to hello-00001), nothing orphaned, no stuck
// rollout. Faults: kill -9 of `sluice start` (then restarted on the same data), of the brain, of the API server,
// of Prometheus, an invalid policy edit (refused by the API) followed by a kill -9 of `sluice start`, the Git
// remote made unreachable mid-rollout (the template came from Git; the rollout must finish under what was applied
// while GitOps reports the failure and retries with back-off), and the API server killed while clients load it
// (their requests must succeed again once it is back).
import { readdirSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KubeClient, R, type KubeObject } from '../../src/kube/index.js';
import type { RolloutObject } from '../../src/rollout/controller/types.js';
import {
  helloServiceYaml,
  kubectl,
  removeDir,
  run,
  startSluice,
  tempDir,
  waitFor,
  type SluiceProcess,
} from '../support/procs.js';
import { startTraffic } from '../support/traffic.js';

export type Fault =
  | 'killStart'
  | 'killBrain'
  | 'killApiserver'
  | 'killPrometheus'
  | 'invalidPolicyThenKill'
  | 'gitUnreachable'
  | 'apiserverUnderLoad';
export type Template = 'good' | 'bad';

export interface TrialSpec {
  fault: Fault;
  template: Template;
  /** Seconds after the template is applied. */
  delaySeconds: number;
}

export interface TrialResult extends TrialSpec {
  correct: boolean;
  final: string;
  /** Phase, weight and step when the fault hit. */
  atFault: string;
  /** ms from the fault (or the restart, for killStart) to the terminal phase. */
  toDecisionMs: number | null;
  /** Requests that got no HTTP answer (connection refused/reset) from the fault until the decision. */
  refused: number;
  /** Processes of the killed tree still alive 15 s after a kill -9 of `sluice start` (then killed by the harness). */
  orphans: number;
  /** Of those, how many were still exiting 3 s after the kill (the report's measure), and what they were. */
  aliveAt3s: number;
  aliveAt3sWhat: string[];
  /** For killStart: ms from the restart to "Sluice is up". */
  restartMs: number | null;
  /** What a fault must show besides the decision (GitOps reports and retries; clients succeed after a restart). */
  checks: Check[];
  error?: string;
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

const SEL = 'namespace_name="{{namespace}}",revision_name="{{revision}}"';
const SUCCESS_RATE = `(sum(rate(revision_request_count{${SEL},response_code_class!="5xx"}[{{interval}}])) or sum(rate(revision_request_count{${SEL}}[{{interval}}])) * 0) / sum(rate(revision_request_count{${SEL}}[{{interval}}]))`;
const FIVE_HUNDRED = `require('http').createServer((q, s) => { s.statusCode = 500; s.end('bad') }).listen(process.env.PORT)`;
const HOST = 'hello.default.svc.cluster.local';

function policy(firstWeight = 20, query = SUCCESS_RATE): string {
  return JSON.stringify({
    apiVersion: 'delivery.sluice.dev/v1alpha1',
    kind: 'RolloutPolicy',
    metadata: { name: 'hello', namespace: 'default' },
    spec: {
      targetRef: { name: 'hello' },
      strategy: {
        canary: {
          steps: [
            { setWeight: firstWeight },
            { pause: { duration: '2s' } },
            { analysis: {} },
            { setWeight: 50 },
            { pause: { duration: '2s' } },
            { analysis: {} },
          ],
        },
      },
      analysis: {
        interval: '1s',
        window: '10s',
        failureLimit: 2,
        metrics: [
          { name: 'success-rate', query, thresholdRange: { min: 0.99 }, onNoData: 'hold', noDataTimeout: '1m' },
        ],
      },
      rollback: { to: 'pinned' },
    },
  });
}

function template(kind: Template, target: string): string {
  const y = helloServiceYaml(target);
  return kind === 'good'
    ? y
    : y.replace('          env:', `          command: ["node", "-e", ${JSON.stringify(FIVE_HUNDRED)}]\n          env:`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  const out = new Set<number>([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of parent)
      if (!out.has(pid) && out.has(ppid)) {
        out.add(pid);
        grew = true;
      }
  }
  out.delete(root);
  return [...out];
}

const TERMINAL = ['Succeeded', 'RolledBack', 'Aborted'];

export async function runTrial(spec: TrialSpec, timeoutMs = 120_000): Promise<TrialResult> {
  const dir = await tempDir('sluice-chaos-');
  const data = join(dir, 'data');
  const cache = join(dir, 'cache');
  const kc = (args: string[], input?: string) => kubectl(join(data, 'kubeconfig'), cache, args, input);
  const res: TrialResult = {
    ...spec,
    correct: false,
    final: '',
    atFault: '',
    toDecisionMs: null,
    refused: 0,
    orphans: 0,
    aliveAt3s: 0,
    aliveAt3sWhat: [],
    restartMs: null,
    checks: [],
  };
  let sluice: SluiceProcess | undefined;
  let traffic: ReturnType<typeof startTraffic> | undefined;
  const stray: number[] = [];
  let load: ApiLoad | undefined;
  const git = spec.fault === 'gitUnreachable' ? await gitRemote(dir) : undefined;
  try {
    // From Git the template is the file hello.yaml; polled every second so a push is seen at once.
    sluice = await startSluice('start', data, git ? ['--repo', `file://${git.remote}`, '--poll', '*/1 * * * * *'] : []);
    // Built anew after a restart: the API server may come back on another port (its kubeconfig is rewritten).
    let client = KubeClient.fromFile(join(data, 'kubeconfig'), 'chaos');
    const rollout = () => client.tryGet<RolloutObject>(R.rollouts, 'default', 'hello').catch(() => undefined);
    const pids = (): Record<string, number> =>
      (JSON.parse(readFileSync(join(data, 'endpoints.json'), 'utf8')) as { pids: Record<string, number> }).pids;
    let r = await kc(['apply', '-f', '-'], policy());
    if (r.code !== 0) throw new Error(`apply policy: ${r.stderr}`);
    if (git) await git.push(template('good', 'v1'));
    else {
      r = await kc(['apply', '-f', '-'], template('good', 'v1'));
      if (r.code !== 0) throw new Error(`apply service: ${r.stderr}`);
    }
    await waitFor(
      'hello-00001 pinned',
      async () => {
        const ro = await rollout();
        return ro?.status?.phase === 'Succeeded' && ro.status.stableRevision === 'hello-00001';
      },
      60_000,
    );
    traffic = startTraffic(data, HOST, 50);
    await waitFor('traffic', () => traffic!.answers.filter((a) => a.status === 200).length >= 20, 30_000);
    if (git) {
      // The delay counts from the rollout's start: until the poll applies the push there is nothing to cut off.
      await git.push(template(spec.template, 'v2'));
      await waitFor('the canary hello-00002', async () => (await rollout())?.status?.canaryRevision === 'hello-00002');
    } else {
      r = await kc(['apply', '-f', '-'], template(spec.template, 'v2'));
      if (r.code !== 0) throw new Error(`apply template: ${r.stderr}`);
    }
    if (spec.fault === 'apiserverUnderLoad') load = startApiLoad(() => client, kc);
    await new Promise((ok) => setTimeout(ok, spec.delaySeconds * 1000));
    if (spec.fault === 'invalidPolicyThenKill') {
      const bad = await kc(['apply', '-f', '-'], policy(30, `(${SUCCESS_RATE}`));
      if (bad.code === 0) throw new Error('the API accepted an invalid policy');
      await new Promise((ok) => setTimeout(ok, 500));
    }
    const st = (await rollout())?.status;
    res.atFault = `${st?.phase ?? '?'}/${st?.canaryWeight ?? 0}%/step${st?.currentStep ?? 0}`;
    const tFault = Date.now();
    let tFrom = tFault;
    if (spec.fault === 'killStart' || spec.fault === 'invalidPolicyThenKill') {
      const tree = descendants(sluice.child.pid!);
      await sluice.stop('SIGKILL');
      await new Promise((ok) => setTimeout(ok, 3_000));
      const at3 = tree.filter(alive);
      res.aliveAt3s = at3.length;
      res.aliveAt3sWhat = at3.map((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ').slice(0, 120);
        } catch {
          return `${p} (gone)`;
        }
      });
      const end = Date.now() + 12_000;
      while (tree.some(alive) && Date.now() < end) await new Promise((ok) => setTimeout(ok, 200));
      const left = tree.filter(alive);
      res.orphans = left.length;
      stray.push(...left);
      const t = Date.now();
      sluice = await startSluice('start', data);
      res.restartMs = Date.now() - t;
      client = KubeClient.fromFile(join(data, 'kubeconfig'), 'chaos');
      tFrom = t;
    } else if (git) {
      await rename(git.remote, `${git.remote}.unreachable`);
    } else {
      const part = spec.fault === 'killBrain' ? 'brain' : spec.fault === 'killPrometheus' ? 'prometheus' : 'apiserver';
      const pid = pids()[part];
      if (!pid) throw new Error(`no pid for ${part}`);
      process.kill(pid, 'SIGKILL');
    }
    const done = await waitFor(
      'a terminal phase for hello-00002',
      async () => {
        const ro = await rollout();
        const s = ro?.status;
        return s?.canaryRevision === 'hello-00002' && s.phase && TERMINAL.includes(s.phase) ? ro : undefined;
      },
      timeoutMs,
      100,
    ).catch(() => undefined);
    const s = done?.status ?? (await rollout())?.status;
    res.final = `${s?.phase ?? '?'} stable=${s?.stableRevision ?? '?'}`;
    if (done) res.toDecisionMs = Date.now() - tFrom;
    const want = spec.template === 'good' ? ['Succeeded', 'hello-00002'] : ['RolledBack', 'hello-00001'];
    res.correct = !!done && s?.phase === want[0] && s?.stableRevision === want[1];
    res.refused = traffic.since(tFault).filter((a) => a.status === 0).length;
    if (git) {
      await gitChecks(
        res,
        () => sluice!.output(),
        tFault,
        async () =>
          (await client.tryGet<ConfigMap>(R.configMaps, 'default', 'sluice-gitops-status').catch(() => undefined))
            ?.data,
      );
      // Back online: the next retry finds it and GitOps is Ready again (the back-off is at most a few seconds here).
      await rename(`${git.remote}.unreachable`, git.remote);
      const back = await waitFor(
        'GitOps Ready again',
        async () =>
          (await client.tryGet<ConfigMap>(R.configMaps, 'default', 'sluice-gitops-status').catch(() => undefined))?.data
            ?.ready === 'True',
        60_000,
        250,
      ).catch(() => false);
      res.checks.push({ name: 'git back → Ready', ok: back === true, detail: back ? 'Ready=True' : 'still not Ready' });
    }
    if (load) {
      // Some seconds of load after the server is back, kubectl's included, whenever the decision came.
      const l = load;
      await waitFor(
        'load after the restart',
        () => {
          const back = l.answers.find((a) => a.at >= tFault && a.ok);
          const later = l.answers.filter((a) => back && a.at > back.at);
          return later.filter((a) => a.who === 'kubectl').length >= 3 && later.length >= 30;
        },
        30_000,
        250,
      ).catch(() => undefined);
      const answers = await load.stop();
      res.checks.push(...apiLoadChecks(answers, tFault));
    }
  } catch (e) {
    res.error = e instanceof Error ? e.message : String(e);
  } finally {
    await load?.stop();
    await traffic?.stop();
    await sluice?.stop();
    for (const p of stray) if (alive(p)) process.kill(p, 'SIGKILL');
    // A part that is still stopping may write into the directory while it is removed: try again a few times.
    for (let i = 0; i < 5; i++) {
      try {
        await removeDir(dir);
        break;
      } catch {
        await new Promise((ok) => setTimeout(ok, 1_000));
      }
    }
  }
  return res;
}

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

/** A bare remote with a working clone; push() commits hello.yaml with this content and pushes it. */
async function gitRemote(dir: string): Promise<{ remote: string; push: (yaml: string) => Promise<void> }> {
  const remote = join(dir, 'remote.git');
  const work = join(dir, 'work');
  const git = async (args: string[], cwd = dir) => {
    const r = await run('git', args, { cwd });
    if (r.code !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  };
  await git(['init', '-q', '--bare', '-b', 'main', remote]);
  await git(['init', '-q', '-b', 'main', work]);
  await git(['-C', work, 'config', 'user.email', 'chaos@sluice.dev']);
  await git(['-C', work, 'config', 'user.name', 'chaos']);
  await git(['-C', work, 'remote', 'add', 'origin', remote]);
  let n = 0;
  return {
    remote,
    push: async (yaml) => {
      await writeFile(join(work, 'hello.yaml'), yaml);
      await git(['-C', work, 'add', 'hello.yaml']);
      await git(['-C', work, 'commit', '-q', '-m', `hello ${++n}`]);
      await git(['-C', work, 'push', '-q', 'origin', 'main']);
    },
  };
}

/**
 * With the remote gone: GitOps says so on its status ConfigMap (Ready False, GitOperationFailed, the applied
 * commit kept) and retries with growing gaps (its "cannot read Git" warnings, one per attempt, spread out).
 */
async function gitChecks(
  res: TrialResult,
  log: () => string,
  tFault: number,
  status: () => Promise<Record<string, string> | undefined>,
): Promise<void> {
  const st = await waitFor(
    'GitOps to report the unreachable remote',
    async () => {
      const d = await status();
      return d?.reason === 'GitOperationFailed' ? d : undefined;
    },
    30_000,
    250,
  ).catch(() => undefined);
  res.checks.push({
    name: 'GitOps reports it',
    ok: st?.ready === 'False' && !!st.lastAppliedCommit,
    detail: st ? `ready=${st.ready} reason=${st.reason}: ${st.message ?? ''}`.slice(0, 160) : 'no GitOperationFailed',
  });
  // Let a few retries happen, then read their times from the log (pino JSON lines, "time" in ms).
  await waitFor('three failed Git reads', () => attempts(log(), tFault).length >= 3 || undefined, 30_000, 250).catch(
    () => undefined,
  );
  const at = attempts(log(), tFault);
  const gaps = at.slice(1).map((t, i) => t - at[i]!);
  res.checks.push({
    name: 'GitOps retries with back-off',
    ok: gaps.length >= 2 && gaps[gaps.length - 1]! >= 1.5 * gaps[0]!,
    detail: `gaps between attempts ${gaps.join(', ')} ms`,
  });
}

function attempts(log: string, since: number): number[] {
  const out: number[] = [];
  for (const line of log.split('\n')) {
    if (!line.includes('gitops: cannot read Git')) continue;
    try {
      const t = (JSON.parse(line) as { time?: number }).time;
      if (typeof t === 'number' && t >= since) out.push(t);
    } catch {
      /* not a JSON line */
    }
  }
  return out;
}

interface ApiAnswer {
  at: number;
  ok: boolean;
  who: 'client' | 'kubectl';
}

interface ApiLoad {
  readonly answers: ApiAnswer[];
  stop(): Promise<ApiAnswer[]>;
}

/**
 * Load on the API server as operators and tools make it: four clients listing Services and reading the Rollout
 * back to back, and kubectl getting ksvc in a loop. Each request's start time is recorded, so a failure can be
 * placed before or after the server came back.
 */
function startApiLoad(client: () => KubeClient, kc: (args: string[]) => Promise<{ code: number }>): ApiLoad {
  const answers: ApiAnswer[] = [];
  let on = true;
  const loop = async (who: ApiAnswer['who'], call: () => Promise<unknown>) => {
    while (on) {
      const at = Date.now();
      const ok = await call().then(
        (r) => (typeof r === 'object' && r !== null && 'code' in r ? (r as { code: number }).code === 0 : true),
        () => false,
      );
      answers.push({ at, ok, who });
      if (!ok) await new Promise((res) => setTimeout(res, 100));
    }
  };
  const loops = [
    ...[0, 1, 2, 3].map(() =>
      loop('client', async () => {
        await client().list(R.services, 'default');
        await client().get(R.rollouts, 'default', 'hello');
      }),
    ),
    loop('kubectl', () => kc(['get', 'ksvc', 'hello', '-o', 'name', '--request-timeout=5s'])),
  ];
  return {
    answers,
    async stop() {
      on = false;
      await Promise.all(loops);
      return answers;
    },
  };
}

/** After the first success that follows the kill, every request started later succeeds, kubectl's and clients'. */
function apiLoadChecks(answers: ApiAnswer[], tFault: number): Check[] {
  const after = answers.filter((a) => a.at >= tFault);
  const back = after.find((a) => a.ok);
  const out: Check[] = [];
  for (const who of ['client', 'kubectl'] as const) {
    const mine = after.filter((a) => a.who === who && back !== undefined && a.at > back.at);
    const failed = mine.filter((a) => !a.ok).length;
    out.push({
      name: `${who} requests after the restart`,
      ok: mine.length > 0 && failed === 0,
      detail: `${mine.length - failed}/${mine.length} ok; API back ${back ? back.at - tFault : '-'} ms after the kill, ${after.filter((a) => a.who === who && (!back || a.at <= back.at) && !a.ok).length} failed before`,
    });
  }
  return out;
}

/** mulberry32: a fixed seed gives the same trials (templates and kill moments) on every run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The trial plan of a seed: templates alternate good/bad, kill moments uniform in [0.3, 3.5] s. */
export function plan(seed: number, faults: Fault[], perFault: number): TrialSpec[] {
  const rnd = seeded(seed);
  const out: TrialSpec[] = [];
  for (const fault of faults)
    for (let i = 0; i < perFault; i++)
      out.push({
        fault,
        template: fault === 'invalidPolicyThenKill' || i % 2 === 1 ? 'bad' : 'good',
        delaySeconds: Math.round((0.3 + 3.2 * rnd()) * 100) / 100,
      });
  return out;
}
