// ConfigMap/Secret volumes: which files (table cases with the kubelet's FailedMount messages) and how they are
// laid out on a real file system (the AtomicWriter's `..data` symlink to a timestamped directory, swapped
// only when the payload changes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { resolveVolumes } from '../src/serving/config-volumes.js';
import { mountTable, syncVolumes, writeAtomic } from '../src/runtime/config-volumes.js';
import { removeDir, tempDir } from './support/procs.js';

const lookups = {
  configMap: (ns: string, n: string) =>
    ns === 'default' && n === 'app' ? { 'app.yaml': 'level: info\n', other: 'x' } : undefined,
  secret: (ns: string, n: string) =>
    ns === 'default' && n === 'tls' ? { 'tls.crt': 'CERT', 'tls.key': 'KEY' } : undefined,
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
      ? r.volumes.map((v) => [v.name, v.emptyDir ? 'emptyDir' : v.files.map((f) => [f.path, f.content, f.mode])])
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
    // syncVolumes + the mount table a process reads from SLUICE_VOLUME_MOUNTS.
    const dirs = syncVolumes(
      root,
      [
        { name: 'scratch', emptyDir: true },
        { name: 'cfg', files: [{ path: 'app.yaml', content: 'b', mode: 0o644 }] },
      ],
      t0,
    );
    assert.ok(lstatSync(join(root, 'scratch')).isDirectory());
    assert.deepEqual(
      mountTable(
        [
          { name: 'cfg', mountPath: '/etc/config' },
          { name: 'scratch', mountPath: '/tmp/s', subPath: 'a' },
        ],
        dirs,
      ),
      {
        '/etc/config': join(root, 'cfg'),
        '/tmp/s': join(root, 'scratch', 'a'),
      },
    );
  } finally {
    await removeDir(root);
  }
});
