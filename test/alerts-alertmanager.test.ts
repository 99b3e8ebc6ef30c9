// The Alertmanager sink against real Alertmanagers (Debian's prometheus-alertmanager): a rolledBack event fires
// an alert on every configured instance, it stays active through periodic re-sends beyond its first endsAt, and a
// later succeeded event resolves it — seen both in GET /api/v2/alerts and in Alertmanager's own resolved
// notification to a webhook receiver.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { Writable } from 'node:stream';
import { createLogger } from '../src/observability/logger.js';
import { AlertDispatcher, FunctionSecretResolver, type AlertEvent, type AlertSinkSpec } from '../src/alerts/index.js';
import { startAlertmanager, type AlertmanagerHandle } from './support/alertmanager.js';
import { freePort, waitFor } from './support/procs.js';

const AM_PASSWORD = 'am-basic-auth-SECRET-2718';
const RESEND_MS = 300;

const logLines: string[] = [];
const logger = createLogger({
  level: 'debug',
  destination: new Writable({
    write(chunk: Buffer, _enc, cb) {
      logLines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  }),
});

interface GettableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  updatedAt: string;
  generatorURL?: string;
  status: { state: string };
}
interface AmNotification {
  status: string;
  alerts: Array<{ status: string; labels: Record<string, string>; endsAt: string }>;
}

const notifications: AmNotification[] = [];
let hookUrl = '';
let closeHook: () => Promise<void> = async () => {};
let am1: AlertmanagerHandle;
let am2: AlertmanagerHandle;

before(async () => {
  const hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      notifications.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as AmNotification);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
  hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}/am`;
  closeHook = () =>
    new Promise<void>((r) => {
      hook.closeAllConnections();
      hook.close(() => r());
    });
  [am1, am2] = await Promise.all([startAlertmanager({ webhookUrl: hookUrl }), startAlertmanager()]);
});

after(async () => {
  await Promise.all([am1?.stop(), am2?.stop()]);
  await closeHook();
});

async function alerts(am: AlertmanagerHandle, alertname: string): Promise<GettableAlert[]> {
  const r = await fetch(`${am.url}/api/v2/alerts?filter=${encodeURIComponent(`alertname="${alertname}"`)}`);
  assert.equal(r.status, 200);
  return (await r.json()) as GettableAlert[];
}

function event(type: AlertEvent['type'], o: Partial<AlertEvent> = {}): AlertEvent {
  return {
    id: `${type}-${Date.now()}`,
    type,
    namespace: 'shop',
    service: 'cart',
    rollout: 'cart',
    phase: type === 'rolledBack' ? 'RolledBack' : 'Succeeded',
    stableRevision: 'cart-00001',
    canaryRevision: 'cart-00002',
    canaryWeight: 0,
    stableWeight: 100,
    failedMetric:
      type === 'rolledBack'
        ? { name: 'p99-latency', value: 812.5, thresholdRange: { max: 500 }, query: 'histogram_quantile(0.99, ...)' }
        : undefined,
    commit: { sha: 'feedfacecafebeef00112233445566778899aabb', message: 'cart: faster checkout' },
    message:
      type === 'rolledBack'
        ? 'cart-00001 serves 100%; cart-00002 rolled back'
        : 'cart-00003 serves 100% (was cart-00001)',
    time: Date.now(),
    severity: type === 'rolledBack' ? 'critical' : 'info',
    ...o,
  };
}

test('alertmanager: rolledBack fires on every instance, stays active through re-sends, and a later success resolves it', async () => {
  const deadPort = await freePort();
  const secrets = new FunctionSecretResolver(async (_ns, ref) =>
    ref.name === 'am' && ref.key === 'auth' ? `sluice:${AM_PASSWORD}` : undefined,
  );
  const d = new AlertDispatcher({
    secrets,
    logger,
    retry: { baseMs: 50, maxMs: 500, maxAttempts: 3 },
    timeoutMs: 2000,
    alertmanager: { resendIntervalMs: RESEND_MS, externalUrl: 'http://sluice.example:8080' },
  });
  try {
    const sinks: AlertSinkSpec[] = [
      {
        type: 'alertmanager',
        url: am1.url,
        urls: [`${am2.url}/api/v2/alerts`, `http://127.0.0.1:${deadPort}`],
        secretRef: { name: 'am' },
      },
    ];
    // progress events are not alerts
    assert.equal(d.notify(event('succeeded', { type: 'step' }), sinks).skipped, 3);

    const fired = event('rolledBack');
    assert.equal(d.notify(fired, sinks).queued, 3, 'one queue per instance');
    for (const am of [am1, am2]) {
      const [a] = await waitFor(
        `active alert on ${am.url}`,
        async () => {
          const list = await alerts(am, 'SluiceRolloutRolledBack');
          return list.length === 1 && list[0]!.status.state === 'active' ? list : undefined;
        },
        5000,
      );
      assert.deepEqual(a!.labels, {
        alertname: 'SluiceRolloutRolledBack',
        namespace: 'shop',
        service: 'cart',
        rollout: 'cart',
        severity: 'critical',
        source: 'sluice',
      });
      assert.equal(a!.annotations['metric'], 'p99-latency');
      assert.equal(a!.annotations['metric_value'], '812.5');
      assert.equal(a!.annotations['threshold'], 'max 500');
      assert.equal(a!.annotations['canary_revision'], 'cart-00002');
      assert.equal(a!.annotations['commit'], fired.commit!.sha);
      assert.match(a!.annotations['summary']!, /shop\/cart: rolled back/);
      assert.equal(
        a!.generatorURL,
        'http://sluice.example:8080/apis/delivery.sluice.dev/v1alpha1/namespaces/shop/rollouts/cart',
      );
      assert.equal(Date.parse(a!.startsAt), fired.time);
      assert.ok(Date.parse(a!.endsAt) > Date.now(), 'endsAt is in the future while firing');
    }
    // Re-sent while firing: endsAt (4 × resend interval ahead) keeps moving, so the alert outlives its first endsAt.
    const first = Date.parse((await alerts(am1, 'SluiceRolloutRolledBack'))[0]!.endsAt);
    await waitFor(
      'still active after the first endsAt passed',
      async () => {
        if (Date.now() < first + 200) return false;
        const list = await alerts(am1, 'SluiceRolloutRolledBack');
        return list.length === 1 && list[0]!.status.state === 'active' && Date.parse(list[0]!.endsAt) > first;
      },
      5000,
    );
    await waitFor(
      'Alertmanager notified its receiver (firing)',
      () => notifications.some((n) => n.status === 'firing'),
      5000,
    );

    // the recovery
    const ok = event('succeeded');
    d.notify(ok, sinks);
    for (const am of [am1, am2]) {
      await waitFor(
        `alert resolved on ${am.url}`,
        async () => (await alerts(am, 'SluiceRolloutRolledBack')).length === 0,
        5000,
      );
    }
    const resolved = await waitFor(
      'Alertmanager notified its receiver (resolved)',
      () =>
        notifications.find(
          (n) => n.status === 'resolved' && n.alerts.some((a) => a.labels['alertname'] === 'SluiceRolloutRolledBack'),
        ),
      5000,
    );
    assert.equal(Date.parse(resolved.alerts[0]!.endsAt), ok.time, 'endsAt is the success event time');

    // the dead instance failed on its own queue without holding up the others
    const dead = d.stats().find((s) => s.label.includes(`:${deadPort}`));
    assert.ok(dead && dead.failedAttempts >= 1 && dead.delivered === 0);
    assert.ok(
      d
        .stats()
        .filter((s) => s.label !== dead.label)
        .every((s) => s.delivered >= 2),
    );
  } finally {
    await d.close();
  }
});

test('no secret value appears in any log line', () => {
  assert.ok(
    logLines.some((l) => l.includes('ECONNREFUSED')),
    'the dead instance was logged',
  );
  const b64 = Buffer.from(`sluice:${AM_PASSWORD}`).toString('base64');
  for (const s of [AM_PASSWORD, b64])
    assert.equal(
      logLines.find((l) => l.includes(s)),
      undefined,
    );
});
