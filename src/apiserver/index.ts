// The embedded Kubernetes-compatible API server: durable store, REST, watch, discovery, CRDs, admission.
// `startApiServer` opens the store, installs the built-in kinds, stored CRDs and the CRDs shipped in
// deploy/crds, and listens on loopback with a bearer token written to a 0600 kubeconfig.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile, readdir, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { Store, resourceId } from './store.js';
import { Registry } from './registry.js';
import { builtinTypes } from './builtin.js';
import { Resources, type WriteOptions } from './resources.js';
import { ApiHttpServer } from './http-server.js';
import { Admission } from './admission.js';
import { crdToTypes } from './crd.js';
import { StatusError } from './status.js';
import { isRecord, type KObject } from './types.js';
import { loadOrCreateTls } from './tls.js';
import { systemClock, type Clock } from '../util/clock.js';
import { Authenticator } from './authn.js';
import { RequestAuth, auditLine } from './request-auth.js';
import { createWriteStream } from 'node:fs';
import { bootstrapPolicy, RBAC_GROUP } from './authorizer.js';
import { reviewTypes } from './auth-apis.js';
import { createLogger, type Logger } from '../observability/logger.js';

export { Admission } from './admission.js';
export type { AdmissionHook, AdmissionRequest } from './admission.js';
export { StatusError, errors } from './status.js';
export type { KObject } from './types.js';
export type { UserInfo } from './authn.js';
export { ADMIN_USERNAME } from './authn.js';

export interface ApiServerOptions {
  dataDir: string;
  port?: number;
  host?: string;
  /** Directories of CRD YAML installed at start (deploy/crds). */
  crdDirs?: string[];
  /** Namespaces that exist from the start. */
  namespaces?: string[];
  clock?: Clock;
  log?: Logger;
  admission?: Admission;
  bookmarkIntervalMs?: number;
  compactAtBytes?: number;
  /** Append one audit.k8s.io/v1 Event line per request here (kube-apiserver's --audit-log-path). */
  auditLogPath?: string;
}

export interface RunningApiServer {
  url: string;
  port: number;
  token: string;
  /** PEM of the CA that signed the server's certificate. */
  caPem: string;
  kubeconfigPath: string;
  store: Store;
  registry: Registry;
  admission: Admission;
  close(): Promise<void>;
}

async function loadToken(dataDir: string): Promise<string> {
  const p = join(dataDir, 'token');
  try {
    const t = (await readFile(p, 'utf8')).trim();
    if (t) return t;
  } catch {
    /* first start */
  }
  const t = randomBytes(32).toString('base64url');
  await writeFile(p, t + '\n', { mode: 0o600 });
  return t;
}

export function kubeconfigYaml(url: string, token: string, caPem: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'preferences: {}',
    'clusters:',
    '- name: sluice',
    '  cluster:',
    `    server: ${url}`,
    `    certificate-authority-data: ${Buffer.from(caPem).toString('base64')}`,
    'users:',
    '- name: sluice',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: sluice',
    '  context:',
    '    cluster: sluice',
    '    user: sluice',
    '    namespace: default',
    'current-context: sluice',
    '',
  ].join('\n');
}

export async function readManifests(dir: string): Promise<KObject[]> {
  const out: KObject[] = [];
  let files: string[] = [];
  try {
    files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  } catch {
    return out;
  }
  for (const f of files) {
    for (const doc of parseAllDocuments(await readFile(join(dir, f), 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${join(dir, f)}: ${doc.errors[0]!.message}`);
      const v: unknown = doc.toJS();
      if (isRecord(v)) out.push(v as KObject);
    }
  }
  return out;
}

export async function startApiServer(o: ApiServerOptions): Promise<RunningApiServer> {
  const clock = o.clock ?? systemClock;
  const log = o.log ?? createLogger({ name: 'apiserver' });
  await mkdir(o.dataDir, { recursive: true, mode: 0o700 });
  const opened = await Store.open({
    dir: join(o.dataDir, 'store'),
    ...(o.compactAtBytes ? { compactAtBytes: o.compactAtBytes } : {}),
  });
  const store = opened.store;
  if (opened.tornBytes > 0)
    log.warn({ tornBytes: opened.tornBytes }, 'cut an unacknowledged torn write from the end of the log');
  const registry = new Registry();
  for (const t of [...builtinTypes(), ...reviewTypes()]) registry.add(t);
  // CRDs already stored are served before anything else happens.
  for (const crd of store.list(resourceId('apiextensions.k8s.io', 'customresourcedefinitions'), '')) {
    if (!crd.metadata.deletionTimestamp) for (const t of crdToTypes(crd)) registry.add(t);
  }
  const admission = o.admission ?? new Admission();
  const resources = new Resources(store, registry, admission, clock);
  const sys = (): WriteOptions => ({
    fieldManager: 'sluice-apiserver',
    fieldValidation: 'Strict',
    dryRun: false,
    subresource: '',
    user: 'sluice',
    warnings: [],
  });
  const nsType = registry.find('', 'v1', 'namespaces')!;
  for (const ns of o.namespaces ?? ['default', 'kube-system', 'kube-public', 'knative-serving']) {
    if (!store.get('/namespaces', '', ns))
      await resources.create(nsType, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, sys());
  }
  // kube-apiserver's default cluster roles and bindings, created when missing (kept if an admin edited them).
  for (const o of bootstrapPolicy()) {
    const plural = o.kind === 'ClusterRole' ? 'clusterroles' : 'clusterrolebindings';
    if (!store.get(resourceId(RBAC_GROUP, plural), '', o.metadata.name ?? ''))
      await resources.create(registry.find(RBAC_GROUP, 'v1', plural)!, '', o, sys());
  }
  const crdType = registry.find('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')!;
  for (const dir of o.crdDirs ?? []) {
    for (const crd of await readManifests(dir)) {
      if (crd.kind !== 'CustomResourceDefinition') continue;
      const name = crd.metadata.name ?? '';
      const cur = store.get(resourceId('apiextensions.k8s.io', 'customresourcedefinitions'), '', name);
      try {
        if (!cur) await resources.create(crdType, '', structuredClone(crd), sys());
        else
          await resources.update(
            crdType,
            '',
            name,
            { ...structuredClone(crd), metadata: { ...crd.metadata, resourceVersion: cur.metadata.resourceVersion } },
            sys(),
          );
      } catch (e) {
        throw new Error(`installing CRD ${name} from ${dir}: ${e instanceof StatusError ? e.message : String(e)}`);
      }
    }
  }
  const orphans = resources.collectOrphans();
  if (orphans > 0) log.info({ orphans }, 'collecting objects whose owners are all gone');
  const token = await loadToken(o.dataDir);
  const tls = await loadOrCreateTls(o.dataDir, [
    '127.0.0.1',
    'localhost',
    '::1',
    ...(o.host && o.host !== '0.0.0.0' ? [o.host] : []),
  ]);
  const audit = o.auditLogPath ? createWriteStream(o.auditLogPath, { flags: 'a', mode: 0o600 }) : undefined;
  const auth = new RequestAuth(
    await Authenticator.open(o.dataDir, token, store),
    store,
    clock,
    audit ? (a, allowed, uri) => audit.write(auditLine(a, allowed, uri, clock.now())) : undefined,
  );
  const http = new ApiHttpServer({
    auth,
    tls,
    store,
    registry,
    resources,
    clock,
    log,
    ...(o.bookmarkIntervalMs ? { bookmarkIntervalMs: o.bookmarkIntervalMs } : {}),
  });
  const addr = await http.listen(o.port ?? 0, o.host ?? '127.0.0.1');
  const host = addr.address.includes(':') ? `[${addr.address}]` : addr.address;
  const url = `https://${host === '0.0.0.0' ? '127.0.0.1' : host}:${addr.port}`;
  const kubeconfigPath = join(o.dataDir, 'kubeconfig');
  await writeFile(kubeconfigPath, kubeconfigYaml(url, token, tls.caPem), { mode: 0o600 });
  await chmod(kubeconfigPath, 0o600);
  return {
    url,
    port: addr.port,
    token,
    caPem: tls.caPem,
    kubeconfigPath,
    store,
    registry,
    admission,
    async close() {
      await http.close();
      auth.close();
      if (audit) await new Promise<void>((r) => audit.end(() => r()));
      await store.close();
    },
  };
}
