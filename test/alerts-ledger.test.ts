// Alert de-duplication that survives a change of leader (issue 12): the record of what was sent lives on the
// Rollout in the API, not in a replica's memory. Two replicas each with their own dispatcher (as two
// `sluice controller` processes have), a real API server and a real webhook receiver: the old leader sends an
// alert and dies before clearing its outbox; the new leader redelivers that outbox and must not send it again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { startApiServer, type RunningApiServer } from '../src/apiserver/index.js';
import { silentLogger } from '../src/observability/logger.js';
import { KubeClient, R, type KubeObject } from '../src/kube/index.js';
import {
  ALERTS_SENT_ANNOTATION,
  AlertDispatcher,
  AlertNotifier,
  KubeSecretResolver,
  claimAlert,
  recordSent,
  type RolloutNotificationLike,
} from '../src/alerts/index.js';
import { ROOT, tempDir, removeDir, waitFor } from './support/procs.js';

let api: RunningApiServer;
let dir: string;
let client: KubeClient;
let receiver: Server;
let url: string;
const received: string[] = [];

before(async () => {
  dir = await tempDir('sluice-ledger-');
  api = await startApiServer({
    dataDir: join(dir, 'data'),
    crdDirs: [join(ROOT, 'deploy', 'crds')],
    log: silentLogger(),
  });
  client = KubeClient.fromFile(api.kubeconfigPath, 'test');
  receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.push(String(req.headers['x-sluice-delivery'] ?? ''));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
});
after(async () => {
  await new Promise<void>((r) => receiver.close(() => r()));
  await api.close();
  await removeDir(dir);
});

test('recordSent: appends, refuses a recorded id, keeps the newest ids', () => {
  const rows: Array<{ name: string; value: string | undefined; id: string; limit: number; want: string[] | null }> = [
    { name: 'none yet', value: undefined, id: 'a', limit: 3, want: ['a'] },
    { name: 'another', value: '["a"]', id: 'b', limit: 3, want: ['a', 'b'] },
    { name: 'already sent', value: '["a","b"]', id: 'a', limit: 3, want: null },
    { name: 'past the limit', value: '["a","b","c"]', id: 'd', limit: 3, want: ['b', 'c', 'd'] },
    { name: 'unreadable value', value: '{oops', id: 'a', limit: 3, want: ['a'] },
  ];
  for (const r of rows) {
    const got = recordSent(r.value, r.id, r.limit);
    assert.deepEqual(got === null ? null : JSON.parse(got), r.want, r.name);
  }
});

function replica(withLedger: boolean): { notifier: AlertNotifier; dispatcher: AlertDispatcher } {
  const dispatcher = new AlertDispatcher({
    secrets: new KubeSecretResolver(async () => undefined),
    logger: silentLogger(),
    retry: { baseMs: 20, maxMs: 200, maxAttempts: 3 },
  });
  const notifier = new AlertNotifier(dispatcher, {
    ...(withLedger ? { claim: (n) => claimAlert(client, R.rollouts, n.namespace, n.service, n.id) } : {}),
  });
  return { notifier, dispatcher };
}

test('a new leader redelivering the old leader’s outbox does not send an alert again; the record is on the Rollout', async () => {
  // Rows: with the record in the API, and without it (each replica's memory only): how often the receiver
  // gets the alert the old leader sent before it died.
  const rows = [
    { name: 'record on the Rollout', ledger: true, want: 1 },
    { name: 'memory only (the dispatcher window)', ledger: false, want: 2 },
  ];
  for (const [i, r] of rows.entries()) {
    const name = `svc-${i}`;
    await client.create(R.rollouts, {
      apiVersion: 'delivery.sluice.dev/v1alpha1',
      kind: 'Rollout',
      metadata: { name, namespace: 'default' },
      spec: { serviceName: name },
    } as KubeObject);
    const n: RolloutNotificationLike = {
      id: `${name}-rolled-back-1`,
      event: 'rolledBack',
      namespace: 'default',
      service: name,
      revision: `${name}-00002`,
      stableRevision: `${name}-00001`,
      step: 1,
      weight: 20,
      message: 'success-rate below 0.99',
      at: Date.now(),
      alerts: [{ type: 'webhook', url }],
    };
    const before = received.length;
    const old = replica(r.ledger);
    await old.notifier.notify(n);
    await old.dispatcher.idle();
    await old.dispatcher.close(); // the old leader is gone; its outbox (with n) was never cleared
    const next = replica(r.ledger);
    await next.notifier.notify(n);
    await next.dispatcher.idle();
    await next.dispatcher.close();
    await waitFor('deliveries', () => received.length - before >= r.want);
    assert.equal(received.length - before, r.want, r.name);
    if (r.ledger) {
      const ro = await client.get(R.rollouts, 'default', name);
      assert.deepEqual(JSON.parse(ro.metadata.annotations?.[ALERTS_SENT_ANNOTATION] ?? '[]'), [n.id]);
      // The controller's status writes (the status subresource) leave the record alone.
      await client.update(
        R.rollouts,
        { ...ro, metadata: { ...ro.metadata, annotations: {} }, status: { phase: 'RolledBack' } } as KubeObject,
        'status',
      );
      const after = await client.get(R.rollouts, 'default', name);
      assert.ok(after.metadata.annotations?.[ALERTS_SENT_ANNOTATION]?.includes(n.id), 'kept across a status write');
    }
  }
});
