// The admission webhook's certificates renew themselves while it runs (issue 11): a periodic check replaces a
// certificate with less than RENEW_BEFORE_MS left, the running server serves the new one without a restart, and a
// second replica takes the renewal another wrote. Time is an injected clock; the API server, the Secret and the
// TLS handshakes are real.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { startApiServer, type RunningApiServer } from '../src/apiserver/index.js';
import { silentLogger } from '../src/observability/logger.js';
import { KubeClient, R } from '../src/kube/index.js';
import {
  CERT_SECRET,
  RENEW_BEFORE_MS,
  VALID_DAYS,
  caBundleAfterRenewal,
  startPolicyWebhook,
  type PolicyWebhookOptions,
} from '../src/cli/policy-webhook.js';
import { generateTls } from '../src/apiserver/tls.js';
import { ROOT, tempDir, removeDir } from './support/procs.js';

const DAY = 24 * 3600 * 1000;
let api: RunningApiServer;
let dir: string;

before(async () => {
  dir = await tempDir('sluice-webhook-certs-');
  api = await startApiServer({
    dataDir: join(dir, 'data'),
    crdDirs: [join(ROOT, 'deploy', 'crds')],
    log: silentLogger(),
  });
});
after(async () => {
  await api.close();
  await removeDir(dir);
});

/** The certificate a TLS handshake with the webhook presents (not verified here: its dates are the fake clock's). */
function served(url: string): Promise<X509Certificate> {
  const u = new URL(url);
  return new Promise((res, rej) => {
    const s = connect(
      { host: u.hostname, port: Number(u.port), servername: 'sluice-webhook.default.svc', rejectUnauthorized: false },
      () => {
        res(new X509Certificate(s.getPeerCertificate().raw));
        s.end();
      },
    );
    s.on('error', rej);
  });
}

async function stored(client: KubeClient): Promise<X509Certificate> {
  const s = (await client.get(R.secrets, 'default', CERT_SECRET)) as { data?: Record<string, string> };
  return new X509Certificate(Buffer.from(s.data?.['tls.crt'] ?? '', 'base64'));
}

test('webhook certificates: renewed RENEW_BEFORE_MS before expiry by the periodic check, served without a restart, taken by the other replica', async () => {
  const client = KubeClient.fromFile(api.kubeconfigPath, 'sluice');
  let now = Date.now();
  const o: PolicyWebhookOptions = {
    client,
    namespace: 'default',
    service: 'sluice-webhook',
    port: 0,
    host: '127.0.0.1',
    log: silentLogger(),
    now: () => now,
    checkEveryMs: 3600_000,
  };
  const a = await startPolicyWebhook(o);
  const b = await startPolicyWebhook(o);
  try {
    const first = await served(a.url);
    assert.ok(first.raw.equals((await stored(client)).raw), 'serves the certificate kept in the Secret');
    assert.ok((await served(b.url)).raw.equals(first.raw), 'both replicas serve the one certificate');
    const expiry = new Date(first.validTo).getTime();

    // Rows: the clock moves to a moment before expiry; does the check renew?
    const rows: Array<{ name: string; left: number; renews: boolean }> = [
      { name: 'a day more than RENEW_BEFORE_MS left', left: RENEW_BEFORE_MS + DAY, renews: false },
      { name: 'a day less than RENEW_BEFORE_MS left', left: RENEW_BEFORE_MS - DAY, renews: true },
    ];
    let current = first;
    for (const r of rows) {
      now = expiry - r.left;
      assert.equal(await a.checkCerts(), r.renews, r.name);
      const s = await served(a.url);
      if (!r.renews) {
        assert.ok(s.raw.equals(current.raw), `${r.name}: the same certificate`);
        continue;
      }
      assert.ok(!s.raw.equals(current.raw), `${r.name}: a new certificate is served`);
      assert.ok(s.raw.equals((await stored(client)).raw), `${r.name}: the new one is in the Secret`);
      // Valid from the (injected) renewal time for VALID_DAYS, and signed by the CA the webhook now publishes.
      assert.ok(Math.abs(new Date(s.validTo).getTime() - (now + VALID_DAYS * DAY)) < 2_000, s.validTo);
      const ca = new X509Certificate(a.caPem);
      assert.ok(s.checkIssued(ca) && s.verify(ca.publicKey), 'signed by the published CA');
      assert.notEqual(a.caPem, b.caPem, 'the other replica has not looked yet');
      current = s;
    }
    assert.equal(await a.checkCerts(), false, 'a fresh certificate is not renewed again at the same time');
    assert.equal(await b.checkCerts(), true, 'the other replica takes the renewal from the Secret');
    assert.ok((await served(b.url)).raw.equals(current.raw), 'and serves it');
    assert.equal(b.caPem, a.caPem);
  } finally {
    await a.close();
    await b.close();
  }
});

test('caBundleAfterRenewal: the old CA stays trusted while it is valid', async () => {
  const t = Date.now();
  const oldCa = (await generateTls(['x'], { validDays: 10, now: new Date(t) })).caPem;
  const newCa = (await generateTls(['x'], { validDays: 10, now: new Date(t) })).caPem;
  const rows: Array<{ name: string; now: number; want: string[] }> = [
    { name: 'no renewal', now: t, want: [oldCa] },
    { name: 'old CA valid', now: t + DAY, want: [newCa, oldCa] },
    { name: 'old CA expired', now: t + 11 * DAY, want: [newCa] },
  ];
  for (const r of rows) {
    const got = caBundleAfterRenewal(r.name === 'no renewal' ? oldCa : newCa, oldCa, r.now);
    const certs = got.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
    assert.deepEqual(
      certs,
      r.want.map((p) => p.trim()),
      r.name,
    );
  }
});
