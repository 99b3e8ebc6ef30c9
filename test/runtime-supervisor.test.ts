// The revision process supervisor with real child processes: samples, readiness probes, crash loops with
// back-off, unknown images, log files, and no orphans after close() or after the parent is killed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ImageTable } from '../src/runtime/image-table.js';
import { Runtime } from '../src/runtime/runtime.js';
import { httpRequest, pidAlive, waitFor, waitForStatus } from '../src/runtime/testing.js';
import type { RevisionSpec } from '../src/runtime/types.js';

const dataDir = mkdtempSync(join(tmpdir(), 'sluice-runtime-sup-'));
let rt: Runtime;

before(() => {
  rt = new Runtime({ dataDir, tickMs: 100, backoff: { initialMs: 200, maxMs: 2000, resetAfterMs: 60_000 } });
});
after(async () => {
  await rt.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function rev(
  name: string,
  container: RevisionSpec['containers'][number],
  extra: Partial<RevisionSpec> = {},
): RevisionSpec {
  return { namespace: 'default', name, serviceName: name.replace(/-\d+$/, ''), containers: [container], ...extra };
}

async function getFromFirstEndpoint(name: string, path = '/'): Promise<string> {
  const st = await waitForStatus(rt, 'default', name, (s) => s.ready === 'True' && s.endpoints.length > 0);
  const r = await httpRequest(st.endpoints[0] ?? '', { path });
  return r.body;
}

describe('helloworld samples', () => {
  interface Case {
    name: string;
    image: string;
    env?: Array<{ name: string; value: string }>;
    want: string;
  }
  const cases: Case[] = [
    {
      name: 'gcr helloworld-go without TARGET says World',
      image: 'gcr.io/knative-samples/helloworld-go',
      want: 'Hello World!\n',
    },
    {
      name: 'ghcr helloworld-go with TARGET=Second',
      image: 'ghcr.io/knative/helloworld-go:latest',
      env: [{ name: 'TARGET', value: 'Second' }],
      want: 'Hello Second!\n',
    },
    {
      name: "the seeds' mirror with a tag and digest",
      image: 'registry.cn-hangzhou.aliyuncs.com/knative-sample/helloworld-go:160e4dc8@sha256:0123',
      env: [{ name: 'TARGET', value: 'Jian' }],
      want: 'Hello Jian!\n',
    },
  ];
  cases.forEach((c, i) => {
    test(c.name, async () => {
      const name = `hello${i}-00001`;
      rt.upsertRevision(
        rev(name, { image: c.image, ...(c.env ? { env: c.env } : {}), ports: [{ containerPort: 8080 }] }),
      );
      assert.equal(await getFromFirstEndpoint(name), c.want);
      await rt.removeRevision('default', name);
    });
  });
});

test('an httpGet readiness probe decides readiness, not the open port', async () => {
  const readyFile = join(dataDir, 'ready-now');
  const name = 'probe-00001';
  rt.upsertRevision(
    rev(name, {
      image: 'sluice.dev/samples/echo',
      env: [{ name: 'READY_FILE', value: readyFile }],
      readinessProbe: { httpGet: { path: '/healthz' }, failureThreshold: 1 },
    }),
  );
  const probing = await waitForStatus(rt, 'default', name, (s) =>
    s.message.includes('HTTP probe GET /healthz returned 503'),
  );
  assert.equal(probing.ready, 'Unknown');
  assert.equal(probing.reason, 'Deploying');
  assert.equal(probing.replicas, 0);
  writeFileSync(readyFile, 'yes');
  const ready = await waitForStatus(rt, 'default', name, (s) => s.ready === 'True');
  assert.equal(ready.replicas, 1);
  assert.equal(ready.active, true);
  await rt.removeRevision('default', name);
});

test('a command that exits is Ready=False naming the exit code, and restarts with growing back-off', async () => {
  const name = 'crashy-00001';
  const seen: string[] = [];
  const onStatus = (s: { name: string; reason: string }): void => {
    if (s.name === name) seen.push(s.reason);
  };
  rt.on('status', onStatus);
  rt.upsertRevision(
    rev(name, {
      image: 'example.com/does-not-matter',
      command: [process.execPath, '-e', 'console.error("config missing: DATABASE_URL"); process.exit(3)'],
    }),
  );
  const failed = await waitForStatus(rt, 'default', name, (s) => s.ready === 'False');
  assert.equal(failed.reason, 'ExitCode3');
  assert.match(failed.message, /exit code 3/);
  assert.match(failed.message, /config missing: DATABASE_URL/);
  assert.equal(failed.lastTermination?.exitCode, 3);
  const restarted = await waitForStatus(rt, 'default', name, (s) => s.restartCount >= 3, 15_000);
  assert.match(restarted.message, /back-off/);
  // Back-off doubles: 200, 400, 800 ms → the third restart is at least 200+400 ms after the first exit.
  // The status can run ahead of the log file's last line: wait for the third back-off line itself.
  const delaysInLog = (): number[] =>
    [...readFileSync(restarted.logFile, 'utf8').matchAll(/restarting in (\d+) ms/g)].map((m) => Number(m[1]));
  await waitFor('three back-off lines in the log', () => delaysInLog().length >= 3, 15_000);
  assert.deepEqual(delaysInLog().slice(0, 3), [200, 400, 800]);
  assert.ok(seen.includes('ExitCode3'), `status events: ${seen.join(',')}`);
  rt.off('status', onStatus);
  await rt.removeRevision('default', name);
});

test('an unknown image without a command is ContainerMissing with advice', async () => {
  const name = 'nocmd-00001';
  const st = rt.upsertRevision(rev(name, { image: 'docker.io/someone/private-app:1.2' }));
  assert.equal(st.ready, 'False');
  assert.equal(st.reason, 'ContainerMissing');
  assert.match(st.message, /someone\/private-app/);
  assert.match(st.message, /image table|command/);
  await rt.removeRevision('default', name);
});

test('an unknown image with a command runs the command with args, env and PORT, logging to a file', async () => {
  const name = 'custom-00001';
  const script =
    "require('http').createServer((q,s)=>s.end(process.argv[1]+':'+process.env.GREETING)).listen(process.env.PORT,'127.0.0.1');console.log('custom up')";
  rt.upsertRevision(
    rev(name, {
      image: 'quay.io/me/app',
      command: [process.execPath, '-e', script],
      args: ['argOne'],
      env: [{ name: 'GREETING', value: 'hi' }],
    }),
  );
  assert.equal(await getFromFirstEndpoint(name), 'argOne:hi');
  const st = rt.revisionStatus('default', name);
  assert.ok(st);
  await waitFor('log line', () => readFileSync(st.logFile, 'utf8').includes('custom up'));
  await rt.removeRevision('default', name);
});

test('an image table file adds images, with ${dir} for relative scripts', async () => {
  const dir = mkdtempSync(join(dataDir, 'table-'));
  writeFileSync(
    join(dir, 'srv.cjs'),
    "require('http').createServer((q,s)=>s.end('from table '+process.env.FLAVOUR)).listen(process.env.PORT,'127.0.0.1')",
  );
  writeFileSync(
    join(dir, 'images.yaml'),
    `images:\n  - image: docker.io/acme/shop\n    command: ["${process.execPath}", "\${dir}/srv.cjs"]\n    env: {FLAVOUR: vanilla}\n`,
  );
  const table = await ImageTable.fromFile(join(dir, 'images.yaml'));
  const rt2 = new Runtime({ dataDir: join(dir, 'data'), imageTable: table });
  try {
    rt2.upsertRevision(rev('shop-00001', { image: 'acme/shop:v7' }));
    const st = await waitForStatus(rt2, 'default', 'shop-00001', (s) => s.ready === 'True');
    assert.equal((await httpRequest(st.endpoints[0] ?? '')).body, 'from table vanilla');
  } finally {
    await rt2.close();
  }
});

test("close() leaves no process behind, including a command's own children", async () => {
  const dir = mkdtempSync(join(dataDir, 'close-'));
  const rt2 = new Runtime({ dataDir: dir });
  // The command starts a grandchild that would otherwise survive its parent.
  const script = `const c=require('child_process').spawn(process.execPath,['-e','setInterval(()=>{},1000)'],{stdio:'ignore'});console.log('grandchild '+c.pid);require('http').createServer((q,s)=>s.end('ok')).listen(process.env.PORT,'127.0.0.1')`;
  rt2.upsertRevision(rev('tree-00001', { command: [process.execPath, '-e', script] }));
  rt2.upsertRevision(rev('hello-00009', { image: 'gcr.io/knative-samples/helloworld-go' }));
  const a = await waitForStatus(rt2, 'default', 'tree-00001', (s) => s.ready === 'True');
  const b = await waitForStatus(rt2, 'default', 'hello-00009', (s) => s.ready === 'True');
  const grandchild = Number(
    await waitFor('grandchild pid', () => /grandchild (\d+)/.exec(readFileSync(a.logFile, 'utf8'))?.[1]),
  );
  const pids = [...a.processes, ...b.processes].map((p) => p.pid ?? 0).concat(grandchild);
  assert.ok(pids.every((p) => p > 0 && pidAlive(p)));
  await rt2.close();
  await waitFor('every process gone', () => pids.every((p) => !pidAlive(p)), 5000);
});

test('children die when the Sluice process is SIGKILLed', async () => {
  const dir = mkdtempSync(join(dataDir, 'orphan-'));
  const runtimeJs = fileURLToPath(new URL('../src/runtime/runtime.js', import.meta.url));
  const prog = `
    import { Runtime } from ${JSON.stringify(runtimeJs)};
    const rt = new Runtime({ dataDir: ${JSON.stringify(dir)} });
    rt.upsertRevision({ namespace: 'default', name: 'a-00001', containers: [{ image: 'gcr.io/knative-samples/helloworld-go' }] });
    rt.upsertRevision({ namespace: 'default', name: 'b-00001', containers: [{ command: [process.execPath, '-e', 'require("http").createServer((q,s)=>s.end()).listen(process.env.PORT,"127.0.0.1")'] }] });
    const t = setInterval(() => {
      const s = rt.listRevisions();
      if (s.every((x) => x.ready === 'True')) { console.log(JSON.stringify(s.flatMap((x) => x.processes.map((p) => p.pid)))); clearInterval(t); }
    }, 20);
  `;
  const parent = spawn(process.execPath, ['--input-type=module', '-e', prog], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  parent.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const pids = await waitFor(
    'child pids',
    () => (out.includes(']') ? (JSON.parse(out) as number[]) : undefined),
    10_000,
  );
  assert.equal(pids.length, 2);
  assert.ok(pids.every(pidAlive));
  parent.kill('SIGKILL');
  await waitFor('children of a killed parent to exit', () => pids.every((p) => !pidAlive(p)), 5000);
});
