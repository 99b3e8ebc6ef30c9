// On a cluster the RolloutPolicy check runs as a validating admission webhook served by `sluice controller`
// (deploy/webhook.yaml registers it). Certificates are managed the way Knative's webhook manages its own: a
// private CA and a serving certificate for the webhook Service's DNS names are generated on first start, kept in
// a Secret (shared by every replica), checked every hour and renewed when less than RENEW_BEFORE_MS remain (as
// Knative's certificate reconciler does, a week before expiry there), and the CA is written into the
// ValidatingWebhookConfiguration's caBundle, so no cert-manager or manual step is needed. A running server takes a
// renewed certificate without a restart, whichever replica wrote it.
import 'reflect-metadata';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as x509 from '@peculiar/x509';
import { generateTls, type TlsMaterial } from '../apiserver/tls.js';
import { KubeApiError, type KubeClient, type KubeObject, type ResourceRef } from '../kube/index.js';
import { R } from '../kube/index.js';
import type { Logger } from '../observability/logger.js';
import type { KObject } from '../apiserver/index.js';
import { policyDenial } from './policy-admission.js';
import { parseJsonBounded } from '../util/bounded-json.js';

export const WEBHOOK_CONFIGURATION = 'sluice-rolloutpolicy-validation';
export const CERT_SECRET = 'sluice-webhook-certs';
const DAY_MS = 24 * 3600 * 1000;
/** A certificate with less than this left is replaced. */
export const RENEW_BEFORE_MS = 30 * DAY_MS;
/** Validity of a new serving certificate and its CA. */
export const VALID_DAYS = 365;
/** How often a running webhook looks at the Secret (Knative's informers resync about as often). */
export const CERT_CHECK_EVERY_MS = 3600 * 1000;
const MAX_REVIEW_BYTES = 3 * 1024 * 1024;

const VWC: ResourceRef = {
  group: 'admissionregistration.k8s.io',
  version: 'v1',
  plural: 'validatingwebhookconfigurations',
  kind: 'ValidatingWebhookConfiguration',
  namespaced: false,
};

export interface PolicyWebhookOptions {
  client: KubeClient;
  /** Namespace of the controller, its Service and the certificate Secret. */
  namespace: string;
  /** The Service in front of the webhook port (DNS names of the certificate). */
  service: string;
  port: number;
  host: string;
  log: Logger;
  /** The clock the expiry is judged by (and new certificates start at). */
  now?: () => number;
  /** Default CERT_CHECK_EVERY_MS. */
  checkEveryMs?: number;
}

export interface PolicyWebhook {
  url: string;
  /** The CA of the certificate served now. */
  readonly caPem: string;
  /** What the periodic check does: renew when due (or take another replica's renewal). True when it changed. */
  checkCerts(): Promise<boolean>;
  close(): Promise<void>;
}

function b64(s: string): string {
  return Buffer.from(s).toString('base64');
}

/** The certificates in the Secret, or new ones (stored) when missing or expiring. */
export async function ensureWebhookCerts(o: PolicyWebhookOptions): Promise<TlsMaterial> {
  const now = o.now?.() ?? Date.now();
  const cur = await o.client.tryGet(R.secrets, o.namespace, CERT_SECRET);
  const data = (cur as { data?: Record<string, string> } | undefined)?.data ?? {};
  const dec = (k: string): string => Buffer.from(data[k] ?? '', 'base64').toString('utf8');
  if (data['ca.crt'] && data['tls.crt'] && data['tls.key']) {
    try {
      const notAfter = new x509.X509Certificate(dec('tls.crt')).notAfter.getTime();
      if (notAfter - now > RENEW_BEFORE_MS)
        return { caPem: dec('ca.crt'), certPem: dec('tls.crt'), keyPem: dec('tls.key') };
    } catch {
      /* unreadable: replaced below */
    }
  }
  const s = `${o.service}.${o.namespace}`;
  const m = await generateTls([o.service, s, `${s}.svc`, `${s}.svc.cluster.local`], {
    subject: `CN=${s}.svc`,
    validDays: VALID_DAYS,
    now: new Date(now),
  });
  const secret: KubeObject = {
    metadata: { name: CERT_SECRET, namespace: o.namespace, labels: { 'app.kubernetes.io/part-of': 'sluice' } },
    ...{
      type: 'kubernetes.io/tls',
      data: { 'ca.crt': b64(m.caPem), 'tls.crt': b64(m.certPem), 'tls.key': b64(m.keyPem) },
    },
  } as KubeObject;
  try {
    if (cur)
      await o.client.update(R.secrets, {
        ...secret,
        metadata: { ...secret.metadata, resourceVersion: cur.metadata.resourceVersion },
      } as KubeObject);
    else await o.client.create(R.secrets, secret);
  } catch (e) {
    // Another replica wrote it first: use theirs, so every replica serves the CA in the caBundle.
    if (e instanceof KubeApiError && (e.isAlreadyExists || e.status === 409)) return ensureWebhookCerts(o);
    throw e;
  }
  o.log.info({ secret: `${o.namespace}/${CERT_SECRET}` }, 'generated the admission webhook certificates');
  return m;
}

/**
 * The caBundle after a renewal: the new CA, then the old one while it is valid, so the API server still trusts a
 * replica that serves the old certificate until its next check. Pure.
 */
export function caBundleAfterRenewal(newCa: string, oldCa: string, now: number): string {
  if (newCa === oldCa) return newCa;
  try {
    if (new x509.X509Certificate(oldCa).notAfter.getTime() <= now) return newCa;
  } catch {
    return newCa;
  }
  return `${newCa.trimEnd()}\n${oldCa.trimEnd()}\n`;
}

/** Writes the CA into every webhook of the ValidatingWebhookConfiguration (absent: logged, nothing to do). */
async function publishCaBundle(o: PolicyWebhookOptions, caPem: string): Promise<void> {
  const vwc = await o.client.tryGet(VWC, '', WEBHOOK_CONFIGURATION);
  if (!vwc) {
    o.log.warn(
      { name: WEBHOOK_CONFIGURATION },
      'no ValidatingWebhookConfiguration to publish the CA to (apply deploy/webhook.yaml)',
    );
    return;
  }
  const hooks = ((vwc as { webhooks?: Array<Record<string, unknown>> }).webhooks ?? []).map((w) => ({
    ...w,
    clientConfig: { ...(w.clientConfig as object), caBundle: b64(caPem) },
  }));
  await o.client.patch(VWC, '', WEBHOOK_CONFIGURATION, [{ op: 'replace', path: '/webhooks', value: hooks }], 'json');
}

interface AdmissionReview {
  apiVersion?: string;
  kind?: string;
  request?: { uid?: string; object?: KObject; operation?: string };
}

/** The AdmissionReview answer: allowed, or denied with the same 422 Status the embedded API server returns. */
export function reviewPolicy(review: AdmissionReview): Record<string, unknown> {
  const uid = review.request?.uid ?? '';
  const obj = review.request?.object;
  const denial = obj && typeof obj === 'object' && obj.metadata ? policyDenial(obj) : null;
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: denial ? { uid, allowed: false, status: denial.toStatus() } : { uid, allowed: true },
  };
}

function answer(res: ServerResponse, code: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(data)) });
  res.end(data);
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/healthz') return answer(res, 200, { ok: true });
  if (path !== '/validate/rolloutpolicies') return answer(res, 404, { error: `no route for ${path}` });
  if (req.method !== 'POST') {
    res.setHeader('Allow', 'POST');
    return answer(res, 405, { error: `${req.method ?? ''} is not allowed; POST an AdmissionReview` });
  }
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > MAX_REVIEW_BYTES)
      return answer(res, 413, { error: `the AdmissionReview is larger than ${MAX_REVIEW_BYTES} bytes` });
    chunks.push(c as Buffer);
  }
  let review: AdmissionReview;
  try {
    review = parseJsonBounded(Buffer.concat(chunks).toString('utf8')) as AdmissionReview;
  } catch (e) {
    return answer(res, 400, { error: e instanceof Error ? e.message : String(e) });
  }
  answer(res, 200, reviewPolicy(review));
}

export async function startPolicyWebhook(o: PolicyWebhookOptions): Promise<PolicyWebhook> {
  let tls = await ensureWebhookCerts(o);
  const server: Server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    handle(req, res).catch((e: unknown) => {
      o.log.error({ err: e instanceof Error ? e.message : String(e) }, 'admission webhook request failed');
      if (!res.headersSent) answer(res, 500, { error: 'internal error' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  try {
    await publishCaBundle(o, tls.caPem);
  } catch (e) {
    o.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'could not publish the webhook CA bundle');
  }
  const checkCerts = async (): Promise<boolean> => {
    const next = await ensureWebhookCerts(o);
    if (next.certPem === tls.certPem) return false;
    // New connections get the new certificate; open ones keep theirs.
    server.setSecureContext({ cert: next.certPem, key: next.keyPem });
    const old = tls;
    tls = next;
    await publishCaBundle(o, caBundleAfterRenewal(next.caPem, old.caPem, o.now?.() ?? Date.now()));
    o.log.info({ secret: `${o.namespace}/${CERT_SECRET}` }, 'admission webhook serves a renewed certificate');
    return true;
  };
  const timer = setInterval(() => {
    checkCerts().catch((e: unknown) =>
      o.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'could not check the webhook certificate'),
    );
  }, o.checkEveryMs ?? CERT_CHECK_EVERY_MS);
  timer.unref();
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  return {
    url: `https://${o.host === '0.0.0.0' ? '127.0.0.1' : o.host}:${port}`,
    get caPem() {
      return tls.caPem;
    },
    checkCerts,
    async close() {
      clearInterval(timer);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
