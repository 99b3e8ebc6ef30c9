// The shared core/v1 Event recorder against the embedded API server: Events name their object, repeats are
// aggregated into one Event with a count (client-go's EventCorrelator), names sort in recording order, and
// the field selector kubectl describe uses finds them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startApiServer } from '../src/apiserver/index.js';
import { KubeClient, KubeEventRecorder, R } from '../src/kube/index.js';
import { ManualClock } from '../src/util/clock.js';
import { ROOT, removeDir, tempDir } from './support/procs.js';

test('KubeEventRecorder: one Event per distinct event, repeats counted, names in order, found by involvedObject', async () => {
  const dir = await tempDir('sluice-events-');
  const api = await startApiServer({ dataDir: join(dir, 'data'), crdDirs: [join(ROOT, 'deploy', 'crds')] });
  try {
    const client = KubeClient.fromFile(api.kubeconfigPath, 'test');
    const cm = await client.create(R.configMaps, { metadata: { name: 'web', namespace: 'default' } });
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 12));
    const errors: unknown[] = [];
    const rec = new KubeEventRecorder(client, { component: 'test-controller', clock, onError: (e) => errors.push(e) });
    rec.event(cm, R.configMaps, 'Normal', 'Created', 'first');
    rec.event(cm, R.configMaps, 'Warning', 'InternalError', 'boom');
    clock.advance(2000);
    rec.event(cm, R.configMaps, 'Warning', 'InternalError', 'boom');
    rec.event(cm, R.configMaps, 'Normal', 'Created', 'x'.repeat(5000));
    await rec.flush();
    assert.deepEqual(errors, []);
    const list = await client.list(R.events, 'default', {
      fieldSelector: `involvedObject.kind=ConfigMap,involvedObject.name=web,involvedObject.uid=${cm.metadata.uid}`,
    });
    const rows = list.items
      .sort((a, b) => ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1))
      .map((e) => [e['type'], e['reason'], String(e['message']).length, e['count'], e['lastTimestamp']]);
    assert.deepEqual(rows, [
      ['Normal', 'Created', 5, 1, '2026-01-01T12:00:00Z'],
      ['Warning', 'InternalError', 4, 2, '2026-01-01T12:00:02Z'],
      ['Normal', 'Created', 1024, 1, '2026-01-01T12:00:02Z'],
    ]);
    const first = list.items.find((e) => e['reason'] === 'Created');
    assert.deepEqual(first?.['source'], { component: 'test-controller' });
    assert.match(first?.metadata.name ?? '', /^web\.[0-9a-f]+$/);
  } finally {
    await api.close();
    await removeDir(dir);
  }
});
