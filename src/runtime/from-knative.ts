// Map a serving.knative.dev/v1 Revision object (as stored JSON) to the runtime's RevisionSpec. Structural and
// defensive: runtime/ does not import serving/, and a stored object may lack any field.
import { RuntimeError } from './errors.js';
import type { ContainerSpec, EnvVar, Probe, RevisionSpec } from './types.js';

function rec(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}
function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
function strMap(v: unknown): Record<string, string> | undefined {
  const r = rec(v);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(r)) if (typeof x === 'string') out[k] = x;
  return Object.keys(out).length > 0 ? out : undefined;
}
function strList(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
}

function probe(v: unknown): Probe | undefined {
  if (v === undefined) return undefined;
  const p = rec(v);
  const out: Probe = {};
  const hg = p['httpGet'];
  if (hg !== undefined) {
    const h = rec(hg);
    out.httpGet = {};
    const path = str(h['path']);
    if (path !== undefined) out.httpGet.path = path;
    if (Array.isArray(h['httpHeaders'])) {
      out.httpGet.httpHeaders = h['httpHeaders']
        .map(rec)
        .flatMap((x) =>
          typeof x['name'] === 'string' && typeof x['value'] === 'string'
            ? [{ name: x['name'], value: x['value'] }]
            : [],
        );
    }
  }
  if (p['tcpSocket'] !== undefined) out.tcpSocket = {};
  for (const k of [
    'initialDelaySeconds',
    'periodSeconds',
    'timeoutSeconds',
    'failureThreshold',
    'successThreshold',
  ] as const) {
    const n = num(p[k]);
    if (n !== undefined) out[k] = n;
  }
  return out;
}

function container(v: unknown): ContainerSpec {
  const c = rec(v);
  const out: ContainerSpec = {};
  const name = str(c['name']);
  if (name !== undefined) out.name = name;
  const image = str(c['image']);
  if (image !== undefined) out.image = image;
  const command = strList(c['command']);
  if (command) out.command = command;
  const args = strList(c['args']);
  if (args) out.args = args;
  const wd = str(c['workingDir']);
  if (wd !== undefined) out.workingDir = wd;
  if (Array.isArray(c['env'])) {
    out.env = c['env'].map(rec).flatMap((e): EnvVar[] => {
      const n = str(e['name']);
      if (n === undefined) return [];
      const value = str(e['value']);
      return [value !== undefined ? { name: n, value } : { name: n }];
    });
  }
  if (Array.isArray(c['ports'])) {
    out.ports = c['ports'].map(rec).map((p) => {
      const port: { containerPort?: number; name?: string } = {};
      const cp = num(p['containerPort']);
      if (cp !== undefined) port.containerPort = cp;
      const pn = str(p['name']);
      if (pn !== undefined) port.name = pn;
      return port;
    });
  }
  const res = rec(c['resources']);
  const quantities = (v: unknown): Record<string, string> | undefined => {
    const r = rec(v);
    const out: Record<string, string> = {};
    // Kubernetes accepts numbers for quantities (`cpu: 1`); kept as their text.
    for (const [k, q] of Object.entries(r)) if (typeof q === 'string' || typeof q === 'number') out[k] = String(q);
    return Object.keys(out).length > 0 ? out : undefined;
  };
  const requests = quantities(res['requests']);
  const limits = quantities(res['limits']);
  if (requests || limits) out.resources = { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) };
  if (Array.isArray(c['volumeMounts'])) {
    out.volumeMounts = c['volumeMounts'].map(rec).flatMap((m) => {
      const name = str(m['name']);
      const mountPath = str(m['mountPath']);
      if (name === undefined || mountPath === undefined) return [];
      const subPath = str(m['subPath']);
      return [
        { name, mountPath, ...(subPath ? { subPath } : {}), ...(m['readOnly'] === true ? { readOnly: true } : {}) },
      ];
    });
  }
  const rp = probe(c['readinessProbe']);
  if (rp) out.readinessProbe = rp;
  return out;
}

/**
 * Pre: `env[].valueFrom` was resolved by the caller into `value` (the runtime has no API access); entries left
 * with only valueFrom are passed without a value and so are not set.
 */
export function revisionSpecFromKnative(obj: unknown): RevisionSpec {
  const o = rec(obj);
  const md = rec(o['metadata']);
  const spec = rec(o['spec']);
  const namespace = str(md['namespace']);
  const name = str(md['name']);
  if (!namespace || !name)
    throw new RuntimeError('SLUICE_ERR_REVISION_SPEC', 'A Revision needs metadata.namespace and metadata.name', {
      path: 'metadata',
    });
  const out: RevisionSpec = {
    namespace,
    name,
    containers: Array.isArray(spec['containers']) ? spec['containers'].map(container) : [],
  };
  const labels = strMap(md['labels']);
  if (labels) out.labels = labels;
  const annotations = strMap(md['annotations']);
  if (annotations) out.annotations = annotations;
  const cc = num(spec['containerConcurrency']);
  if (cc !== undefined) out.containerConcurrency = cc;
  const ts = num(spec['timeoutSeconds']);
  if (ts !== undefined) out.timeoutSeconds = ts;
  return out;
}
