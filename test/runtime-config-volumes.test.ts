// ConfigMap/Secret volumes: which files (table cases with the kubelet's FailedMount messages) and how they are
// laid out on a real file system (the AtomicWriter's `..data` symlink to a timestamped directory, swapped
// only when the payload changes); and, on a real Runtime with a real process, what a change or a deletion of
// the source does to a running revision (files refreshed, env kept, the process kept).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { resolveVolumes } from '../src/serving/config-volumes.js';
import { payloadBytes } from '../src/serving/config-sources.js';
import {
  localisePaths,
  mountTable,
  podEmptyDirs,
  removePodDirs,
  syncVolumes,
  writeAtomic,
} from '../src/runtime/config-volumes.js';
import { removeDir, tempDir } from './support/procs.js';
import { Runtime } from '../src/runtime/runtime.js';
import { httpRequest, waitFor, waitForStatus } from '../src/runtime/testing.js';
import type { RevisionSpec } from '../src/runtime/types.js';

// Stored objects as the API server holds them: Secret values base64, a ConfigMap's binaryData base64.
const objects: Record<string, unknown> = {
  'configmap/app': { data: { 'app.yaml': 'level: info\n', other: 'x' } },
  'secret/tls': {
    data: { 'tls.crt': Buffer.from('CERT').toString('base64'), 'tls.key': Buffer.from('KEY').toString('base64') },
  },
  'secret/keystore': { data: { 'ks.jks': Buffer.from([0xfe, 0xed, 0xfe, 0xed, 0x00, 0xff]).toString('base64') } },
  'configmap/mixed': { data: { a: 'text' }, binaryData: { b: Buffer.from([0x00, 0x80, 0xff]).toString('base64') } },
};
/** Text as text; bytes that are not UTF-8 as `hex:…`. */
const show = (b: Uint8Array): string => {
  const text = Buffer.from(b).toString('utf8');
  return Buffer.from(text, 'utf8').equals(Buffer.from(b)) ? text : `hex:${Buffer.from(b).toString('hex')}`;
};
const lookups = {
  configMap: (ns: string, n: string) =>
    ns === 'default' && objects[`configmap/${n}`] ? payloadBytes(objects[`configmap/${n}`], 'configmap') : undefined,
  secret: (ns: string, n: string) =>
    ns === 'default' && objects[`secret/${n}`] ? payloadBytes(objects[`secret/${n}`], 'secret') : undefined,
};

test('volumes resolve as the kubelet plugins do', () => {
  const cases: Array<{ name: string; volumes: unknown[]; want: unknown }> = [
    {
      name: 'every key of a ConfigMap, default mode 0644',
      volumes: [{ name: 'cfg', configMap: { name: 'app' } }],
      want: [
        [
          'cfg',
          [
            ['app.yaml', 'level: info\n', 0o644],
            ['other', 'x', 0o644],
          ],
        ],
      ],
    },
    {
      name: 'items with path and mode; defaultMode for the rest',
      volumes: [
        {
          name: 'tls',
          secret: {
            secretName: 'tls',
            defaultMode: 0o400,
            items: [
              { key: 'tls.crt', path: 'certs/server.crt' },
              { key: 'tls.key', path: 'server.key', mode: 0o600 },
            ],
          },
        },
      ],
      want: [
        [
          'tls',
          [
            ['certs/server.crt', 'CERT', 0o400],
            ['server.key', 'KEY', 0o600],
          ],
        ],
      ],
    },
    {
      name: 'projected sources merge; emptyDir is empty',
      volumes: [
        {
          name: 'all',
          projected: {
            sources: [
              { configMap: { name: 'app', items: [{ key: 'other', path: 'o' }] } },
              { secret: { name: 'tls' } },
            ],
          },
        },
        { name: 'scratch', emptyDir: {} },
      ],
      want: [
        [
          'all',
          [
            ['o', 'x', 0o644],
            ['tls.crt', 'CERT', 0o644],
            ['tls.key', 'KEY', 0o644],
          ],
        ],
        ['scratch', 'emptyDir'],
      ],
    },
    {
      name: 'bytes stay bytes: a Secret keystore and a ConfigMap with binaryData',
      volumes: [
        { name: 'ks', secret: { secretName: 'keystore' } },
        { name: 'mixed', configMap: { name: 'mixed' } },
      ],
      want: [
        ['ks', [['ks.jks', 'hex:feedfeed00ff', 0o644]]],
        [
          'mixed',
          [
            ['a', 'text', 0o644],
            ['b', 'hex:0080ff', 0o644],
          ],
        ],
      ],
    },
    {
      name: 'optional: a missing ConfigMap is an empty volume',
      volumes: [{ name: 'opt', configMap: { name: 'gone', optional: true } }],
      want: [['opt', []]],
    },
    {
      name: 'a missing ConfigMap',
      volumes: [{ name: 'cfg', configMap: { name: 'gone' } }],
      want: 'MountVolume.SetUp failed for volume "cfg" : configmap "gone" not found',
    },
    {
      name: 'a missing Secret',
      volumes: [{ name: 's', secret: { secretName: 'gone' } }],
      want: 'MountVolume.SetUp failed for volume "s" : secret "gone" not found',
    },
    {
      name: 'a missing item key',
      volumes: [{ name: 'cfg', configMap: { name: 'app', items: [{ key: 'nope', path: 'n' }] } }],
      want: 'MountVolume.SetUp failed for volume "cfg" : configmap references non-existent config key: nope',
    },
    {
      name: 'a missing secret item key',
      volumes: [{ name: 's', secret: { secretName: 'tls', items: [{ key: 'ca.crt', path: 'ca' }] } }],
      want: 'MountVolume.SetUp failed for volume "s" : references non-existent secret key: ca.crt',
    },
  ];
  for (const c of cases) {
    const r = resolveVolumes({ volumes: c.volumes }, 'default', lookups);
    const got = r.ok
      ? r.volumes.map((v) => [v.name, v.emptyDir ? 'emptyDir' : v.files.map((f) => [f.path, show(f.content), f.mode])])
      : r.message;
    assert.deepEqual(got, c.want, c.name);
  }
});

test('writeAtomic lays out ..data and swaps it only when the payload changes', async () => {
  const root = await tempDir('sluice-volumes-');
  try {
    const dir = join(root, 'cfg');
    const t0 = new Date(Date.UTC(2026, 11, 5, 3, 26, 52, 123));
    assert.equal(
      writeAtomic(
        dir,
        [
          { path: 'app.yaml', content: 'a', mode: 0o644 },
          { path: 'sub/x', content: 'x', mode: 0o600 },
        ],
        t0,
      ),
      true,
    );
    const first = readlinkSync(join(dir, '..data'));
    assert.match(first, /^\.\.2026_12_05_03_26_52\.123\d{6}$/);
    assert.equal(readlinkSync(join(dir, 'app.yaml')), join('..data', 'app.yaml'));
    assert.equal(readFileSync(join(dir, 'sub', 'x'), 'utf8'), 'x');
    assert.equal(statSync(join(dir, 'sub', 'x')).mode & 0o777, 0o600);
    // Same payload: nothing moves.
    assert.equal(
      writeAtomic(
        dir,
        [
          { path: 'app.yaml', content: 'a', mode: 0o644 },
          { path: 'sub/x', content: 'x', mode: 0o600 },
        ],
        t0,
      ),
      false,
    );
    assert.equal(readlinkSync(join(dir, '..data')), first);
    // Changed payload: a new directory, the old one and the dropped entry gone.
    assert.equal(
      writeAtomic(dir, [{ path: 'app.yaml', content: 'b', mode: 0o644 }], new Date(t0.getTime() + 1000)),
      true,
    );
    const second = readlinkSync(join(dir, '..data'));
    assert.notEqual(second, first);
    assert.equal(readFileSync(join(dir, 'app.yaml'), 'utf8'), 'b');
    assert.deepEqual(readdirSync(dir).sort(), ['..data', second, 'app.yaml'].sort());
    assert.throws(() => writeAtomic(dir, [{ path: '../escape', content: '', mode: 0o644 }], t0), /must be relative/);
    // Bytes are written and compared as bytes.
    const bin = join(root, 'bin');
    const bytes = Uint8Array.from([0x00, 0xff, 0xfe]);
    assert.equal(writeAtomic(bin, [{ path: 'ks.jks', content: bytes, mode: 0o600 }], t0), true);
    assert.deepEqual([...readFileSync(join(bin, 'ks.jks'))], [0x00, 0xff, 0xfe]);
    assert.equal(writeAtomic(bin, [{ path: 'ks.jks', content: Uint8Array.from(bytes), mode: 0o600 }], t0), false);
    // syncVolumes lays out the shared volumes; each process gets its own emptyDir; the mount table maps both.
    const vols = [
      { name: 'scratch', emptyDir: true },
      { name: 'cfg', files: [{ path: 'app.yaml', content: 'b', mode: 0o644 }] },
    ];
    const dirs = syncVolumes(root, vols, t0);
    assert.deepEqual([...dirs.keys()], ['cfg']);
    const pod1 = podEmptyDirs(root, 1, vols);
    const pod2 = podEmptyDirs(root, 2, vols);
    assert.notEqual(pod1.get('scratch'), pod2.get('scratch'));
    assert.ok(lstatSync(pod1.get('scratch') ?? '').isDirectory());
    assert.deepEqual(
      mountTable(
        [
          { name: 'cfg', mountPath: '/etc/config' },
          { name: 'scratch', mountPath: '/tmp/s', subPath: 'a' },
        ],
        new Map([...dirs, ...pod1]),
      ),
      {
        '/etc/config': join(root, 'cfg'),
        '/tmp/s': join(root, '..pods', '1', 'scratch', 'a'),
      },
    );
    removePodDirs(root, 1);
    assert.equal(existsSync(join(root, '..pods', '1')), false);
    assert.ok(existsSync(pod2.get('scratch') ?? ''));
  } finally {
    await removeDir(root);
  }
});

test('paths under a mount path are rewritten to the local volume in argv, env and workingDir', () => {
  const table = { '/etc/config': '/d/cfg', '/etc/config/tls': '/d/tls', '/scripts/': '/d/scripts' };
  const cases: Array<[string, string]> = [
    ['/etc/config', '/d/cfg'],
    ['/etc/config/app.yaml', '/d/cfg/app.yaml'],
    ['/etc/config/tls/server.crt', '/d/tls/server.crt'],
    ['--config=/etc/config/app.yaml', '--config=/d/cfg/app.yaml'],
    ['/scripts/run.sh', '/d/scripts/run.sh'],
    ['/etc/configs/x', '/etc/configs/x'],
    ['relative/etc/config', 'relative/etc/config'],
    ['--flag', '--flag'],
  ];
  for (const [input, want] of cases) {
    const got = localisePaths(
      { argv: [input], env: { V: input }, workingDir: input, watchesParent: false, origin: 'container-command' },
      table,
    );
    assert.deepEqual([got.argv[0], got.env['V'], got.workingDir], [want, want, want], input);
  }
  const none = { argv: ['/etc/config'], env: {}, watchesParent: false, origin: 'container-command' as const };
  assert.equal(localisePaths(none, {}), none);
});

// Serves the file its argument names (`/etc/config/msg`, rewritten to the local volume), the env value read at
// start and its pid.
const READER = `
const http = require('node:http'); const fs = require('node:fs');
const file = process.argv[1];
http.createServer((q, s) => s.end(JSON.stringify({
  file: fs.readFileSync(file, 'utf8'), env: process.env.MSG, pid: process.pid,
}))).listen(Number(process.env.PORT), '127.0.0.1');`;

test('a running revision keeps its process when its ConfigMap changes or goes away; a missing one holds the start', async () => {
  const dataDir = await tempDir('sluice-runtime-volumes-');
  const rt = new Runtime({ dataDir, tickMs: 50, backoff: { initialMs: 100, maxMs: 1000, resetAfterMs: 60_000 } });
  try {
    const url = (await rt.listen(0)).url;
    rt.setRoutes({
      domain: 'example.com',
      routes: [{ namespace: 'default', name: 'cfg', traffic: [{ revisionName: 'cfg-00001', percent: 100 }] }],
    });
    // What the Serving side hands the runtime for a ConfigMap with msg=<value> as env MSG and as file msg.
    const spec = (msg: string | undefined): RevisionSpec => ({
      namespace: 'default',
      name: 'cfg-00001',
      serviceName: 'cfg',
      annotations: { 'autoscaling.knative.dev/min-scale': '1' },
      containers: [
        {
          image: 'example.com/reader',
          command: [process.execPath, '-e', READER],
          args: ['/etc/config/msg'],
          env: [{ name: 'MSG', value: msg ?? '', fromSource: true }],
          volumeMounts: [{ name: 'config', mountPath: '/etc/config', readOnly: true }],
        },
      ],
      ...(msg === undefined
        ? {
            containerConfigError: {
              reason: 'CreateContainerConfigError',
              message: 'configmap "files" not found',
            },
          }
        : { volumes: [{ name: 'config', files: [{ path: 'msg', content: msg, mode: 0o644 }] }] }),
      progressDeadlineMs: 60_000,
    });
    const read = async (): Promise<{ file: string; env: string; pid: number }> => {
      const r = await httpRequest(url, { host: 'cfg.default.example.com', path: '/' });
      assert.equal(r.status, 200, r.body);
      return JSON.parse(r.body) as { file: string; env: string; pid: number };
    };

    // Missing at first: nothing starts, the Revision is deploying (until the progress deadline).
    rt.upsertRevision(spec(undefined));
    const held = rt.revisionStatus('default', 'cfg-00001');
    assert.equal(held?.ready, 'Unknown');
    assert.equal(held?.actualReplicas, 0);
    // Created: the process starts.
    rt.upsertRevision(spec('first'));
    await waitForStatus(rt, 'default', 'cfg-00001', (s) => s.ready === 'True' && s.replicas === 1);
    const first = await read();
    assert.deepEqual([first.file, first.env], ['first', 'first']);
    // Changed: the same process reads the new file; its env is as it started.
    rt.upsertRevision(spec('second'));
    const second = await waitFor('the new file', async () => {
      const r = await read();
      return r.file === 'second' ? r : undefined;
    });
    assert.deepEqual([second.env, second.pid], ['first', first.pid]);
    // Deleted: the running process keeps serving its last files and stays Ready, as a pod does.
    rt.upsertRevision(spec(undefined));
    const after = await read();
    assert.deepEqual([after.file, after.env, after.pid], ['second', 'first', first.pid]);
    const st = rt.revisionStatus('default', 'cfg-00001');
    assert.equal(st?.ready, 'True', JSON.stringify(st?.conditions));
  } finally {
    await rt.close();
    await removeDir(dataDir);
  }
});

// Writes its pid into the emptyDir its argument names (`/scratch`, rewritten) and answers with the directory.
const SCRATCH = `
const http = require('node:http'); const fs = require('node:fs'); const path = require('node:path');
const dir = process.argv[1];
fs.writeFileSync(path.join(dir, String(process.pid)), '');
http.createServer((q, s) => s.end(JSON.stringify({ pid: process.pid, entries: fs.readdirSync(dir) })))
  .listen(Number(process.env.PORT), '127.0.0.1');`;

test('each process of a revision has its own emptyDir, removed with the process', async () => {
  const dataDir = await tempDir('sluice-runtime-emptydir-');
  const rt = new Runtime({ dataDir, tickMs: 50, backoff: { initialMs: 100, maxMs: 1000, resetAfterMs: 60_000 } });
  try {
    const url = (await rt.listen(0)).url;
    rt.setRoutes({
      domain: 'example.com',
      routes: [{ namespace: 'default', name: 'tmp', traffic: [{ revisionName: 'tmp-00001', percent: 100 }] }],
    });
    const spec = (scale: string): RevisionSpec => ({
      namespace: 'default',
      name: 'tmp-00001',
      serviceName: 'tmp',
      annotations: { 'autoscaling.knative.dev/min-scale': scale, 'autoscaling.knative.dev/max-scale': scale },
      containers: [
        {
          image: 'example.com/scratch',
          command: [process.execPath, '-e', SCRATCH],
          args: ['/scratch'],
          volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }],
        },
      ],
      volumes: [{ name: 'scratch', emptyDir: true }],
    });
    rt.upsertRevision(spec('2'));
    await waitForStatus(rt, 'default', 'tmp-00001', (s) => s.ready === 'True' && s.replicas === 2);
    const seen = new Map<number, string[]>();
    await waitFor('both processes answered', async () => {
      const r = await httpRequest(url, { host: 'tmp.default.example.com', path: '/' });
      assert.equal(r.status, 200, r.body);
      const body = JSON.parse(r.body) as { pid: number; entries: string[] };
      seen.set(body.pid, body.entries);
      return seen.size === 2 ? true : undefined;
    });
    for (const [pid, entries] of seen) assert.deepEqual(entries, [String(pid)]);
    const pods = join(dataDir, 'volumes', 'default', 'tmp-00001', '..pods');
    assert.equal(readdirSync(pods).length, 2);
    // Down to one process: the other's emptyDir goes with it.
    rt.upsertRevision(spec('1'));
    await waitFor('one emptyDir left', () => (readdirSync(pods).length === 1 ? true : undefined), 10_000);
  } finally {
    await rt.close();
    await removeDir(dataDir);
  }
});
