// What kn prints, as pure functions of objects and a time: list tables, describe layouts, ages,
// condition summaries and wait progress lines. Nothing here reads the clock, the network or files.
import type { Condition, Revision, Route, Service, TrafficTarget } from '../../serving/types.js';
import { LIST_TABWRITER, PrefixWriter, tabulate } from './tabwriter.js';

export const LABEL_SERVICE = 'serving.knative.dev/service';
export const LABEL_CONFIGURATION_GENERATION = 'serving.knative.dev/configurationGeneration';
export const ANNOTATION_USER_IMAGE = 'client.knative.dev/user-image';
const ANNOTATION_MIN_SCALE = 'autoscaling.knative.dev/min-scale';
const ANNOTATION_MAX_SCALE = 'autoscaling.knative.dev/max-scale';
const ANNOTATION_MIN_SCALE_OLD = 'autoscaling.knative.dev/minScale';
const ANNOTATION_MAX_SCALE_OLD = 'autoscaling.knative.dev/maxScale';
const ANNOTATION_TARGET = 'autoscaling.knative.dev/target';
const ANNOTATION_WINDOW = 'autoscaling.knative.dev/window';
const ANNOTATION_UTILIZATION = 'autoscaling.knative.dev/target-utilization-percentage';

/** kn truncates list cells longer than this (revision list). */
const LIST_COLUMN_MAX = 50;
/** kn truncates compact label/annotation/env lines at this length. */
const TRUNCATE_AT = 100;

// ---------------------------------------------------------------------------------------------- ages

/**
 * Age as kubectl and kn listings print it (apimachinery's HumanDuration): the API server renders table
 * ages with the same function, so `sluice service list` and `kubectl get ksvc` agree.
 */
import { humanDuration } from '../../apiserver/duration.js';
export { humanDuration };

/** Age as kn's describe prints it (apimachinery's ShortHumanDuration): `45s`, `4m`, `2h`, `10d`, `3y`. */
export function shortHumanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 24) return `${hours}h`;
  if (hours < 24 * 365) return `${Math.trunc(hours / 24)}d`;
  return `${Math.trunc(hours / 24 / 365)}y`;
}

function timestampMs(t: unknown): number | undefined {
  if (typeof t !== 'string' || t === '') return undefined;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

/** A list's AGE cell: `<unknown>` without a creation timestamp. */
export function listAge(creationTimestamp: unknown, nowMs: number): string {
  const t = timestampMs(creationTimestamp);
  return t === undefined ? '<unknown>' : humanDuration(nowMs - t);
}

/** A describe Age: empty without a timestamp. */
export function describeAge(timestamp: unknown, nowMs: number): string {
  const t = timestampMs(timestamp);
  return t === undefined ? '' : shortHumanDuration(nowMs - t);
}

// ----------------------------------------------------------------------------------------- conditions

/** `3 OK / 4`: conditions with status True, out of all. */
export function conditionsValue(conditions: Condition[] | undefined): string {
  const cs = conditions ?? [];
  return `${cs.filter((c) => c.status === 'True').length} OK / ${cs.length}`;
}

/** The Ready condition's status, or `<unknown>`. */
export function readyCondition(conditions: Condition[] | undefined): string {
  return (conditions ?? []).find((c) => c.type === 'Ready')?.status ?? '<unknown>';
}

/** The reason (and message) of a Ready condition that is not True; empty when Ready. */
export function nonReadyReason(conditions: Condition[] | undefined): string {
  const c = (conditions ?? []).find((x) => x.type === 'Ready');
  if (!c) return '<unknown>';
  if (c.status === 'True') return '';
  return c.message ? `${c.reason ?? ''} : ${c.message}` : (c.reason ?? '');
}

// ------------------------------------------------------------------------------------------- listings

export interface ListOptions {
  /** -A: a NAMESPACE column first. */
  allNamespaces?: boolean;
  noHeaders?: boolean;
}

export function table(headers: string[], rows: string[][], o: ListOptions): string {
  const lines: string[] = [];
  const all = o.allNamespaces === true;
  if (!o.noHeaders) lines.push((all ? ['NAMESPACE', ...headers] : headers).join('\t'));
  for (const r of rows) lines.push(r.join('\t'));
  return tabulate(lines.map((l) => l + '\n').join(''), LIST_TABWRITER);
}

function truncCell(s: string): string {
  return [...s].length <= LIST_COLUMN_MAX ? s : [...s].slice(0, LIST_COLUMN_MAX - 4).join('') + ' ...';
}

/** Sorted by namespace, then name, as kn does. */
export function formatServiceList(services: Service[], nowMs: number, o: ListOptions = {}): string {
  const sorted = [...services].sort(
    (a, b) => cmp(a.metadata?.namespace, b.metadata?.namespace) || cmp(a.metadata?.name, b.metadata?.name),
  );
  const rows = sorted.map((s) => [
    ...(o.allNamespaces ? [s.metadata?.namespace ?? ''] : []),
    s.metadata?.name ?? '',
    s.status?.url ?? '',
    s.status?.latestReadyRevisionName ?? '',
    listAge(s.metadata?.creationTimestamp, nowMs),
    conditionsValue(s.status?.conditions),
    readyCondition(s.status?.conditions),
    nonReadyReason(s.status?.conditions),
  ]);
  return table(['NAME', 'URL', 'LATEST', 'AGE', 'CONDITIONS', 'READY', 'REASON'], rows, o);
}

function cmp(a: string | undefined, b: string | undefined): number {
  const x = a ?? '',
    y = b ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Traffic percent (summed) and tags of a revision in a Service's status.traffic. */
export function trafficAndTagsForRevision(
  revision: string,
  service: Service | undefined,
): { percent: number; tags: string[] } {
  let percent = 0;
  const tags: string[] = [];
  for (const t of service?.status?.traffic ?? []) {
    if (t.revisionName !== revision) continue;
    percent += t.percent ?? 0;
    if (t.tag) tags.push(t.tag);
  }
  return { percent, tags };
}

function generationOf(r: Revision): number | undefined {
  const g = r.metadata?.labels?.[LABEL_CONFIGURATION_GENERATION];
  if (g === undefined || !/^\d+$/.test(g)) return undefined;
  return Number(g);
}

/**
 * Sorted by namespace, service, configuration generation (newest first) and name, as kn does.
 * `services` gives the TRAFFIC and TAGS columns (by namespace/name).
 */
export function formatRevisionList(
  revisions: Revision[],
  services: Map<string, Service>,
  nowMs: number,
  o: ListOptions = {},
): string {
  const sorted = [...revisions].sort((a, b) => {
    const ns = cmp(a.metadata?.namespace, b.metadata?.namespace);
    if (ns) return ns;
    const sv = cmp(a.metadata?.labels?.[LABEL_SERVICE], b.metadata?.labels?.[LABEL_SERVICE]);
    if (sv) return sv;
    const ga = generationOf(a),
      gb = generationOf(b);
    if (ga === undefined || gb === undefined) return cmp(a.metadata?.name, b.metadata?.name);
    if (ga !== gb) return gb - ga;
    return cmp(a.metadata?.name, b.metadata?.name);
  });
  const rows = sorted.map((r) => {
    const svcName = r.metadata?.labels?.[LABEL_SERVICE] ?? '';
    const svc = services.get(`${r.metadata?.namespace ?? ''}/${svcName}`);
    const { percent, tags } = trafficAndTagsForRevision(r.metadata?.name ?? '', svc);
    return [
      ...(o.allNamespaces ? [r.metadata?.namespace ?? ''] : []),
      r.metadata?.name ?? '',
      svcName,
      percent !== 0 ? `${percent}%` : '',
      tags.join(','),
      r.metadata?.labels?.[LABEL_CONFIGURATION_GENERATION] ?? '',
      listAge(r.metadata?.creationTimestamp, nowMs),
      conditionsValue(r.status?.conditions),
      readyCondition(r.status?.conditions),
      nonReadyReason(r.status?.conditions),
    ].map(truncCell);
  });
  return table(['NAME', 'SERVICE', 'TRAFFIC', 'TAGS', 'GENERATION', 'AGE', 'CONDITIONS', 'READY', 'REASON'], rows, o);
}

export function formatRouteList(routes: Route[], o: ListOptions = {}): string {
  const sorted = [...routes].sort(
    (a, b) => cmp(a.metadata?.namespace, b.metadata?.namespace) || cmp(a.metadata?.name, b.metadata?.name),
  );
  const rows = sorted.map((r) => [
    ...(o.allNamespaces ? [r.metadata?.namespace ?? ''] : []),
    r.metadata?.name ?? '',
    r.status?.url ?? '',
    readyCondition(r.status?.conditions),
  ]);
  return table(['NAME', 'URL', 'READY'], rows, o);
}

// ------------------------------------------------------------------------------------------- describe

const BORING_DOMAINS = new Set(['serving.knative.dev', 'client.knative.dev', 'kubectl.kubernetes.io']);

function writeMapDesc(dw: PrefixWriter, m: Record<string, string> | undefined, label: string, details: boolean): void {
  if (!m) return;
  const keys = Object.keys(m)
    .filter((k) => details || !(k.includes('/') && BORING_DOMAINS.has(k.split('/')[0]!)))
    .sort();
  if (keys.length === 0) return;
  if (details) {
    keys.forEach((k, i) => dw.writeColsLn(i === 0 ? `${label}:` : '', `${k}=${m[k]}`));
    return;
  }
  const width = TRUNCATE_AT - label.length - 2;
  let ret = '';
  for (const k of keys) {
    ret += `${k}=${m[k]}, `;
    if (ret.length > width) break;
  }
  ret = ret.replace(/[, ]+$/, '');
  dw.writeColsLn(`${label}:`, ret.length <= width ? ret : ret.slice(0, width - 4) + ' ...');
}

function writeSliceDesc(dw: PrefixWriter, s: string[], label: string, details: boolean): void {
  if (s.length === 0) return;
  if (details) {
    s.forEach((v, i) => dw.writeColsLn(i === 0 ? `${label}:` : '', v));
    return;
  }
  let joined = s.join(', ');
  if (joined.length > TRUNCATE_AT) joined = joined.slice(0, TRUNCATE_AT - 4) + ' ...';
  dw.writeAttribute(label, joined);
}

interface Meta {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [k: string]: unknown;
}

export function writeMetadata(dw: PrefixWriter, m: Meta | undefined, nowMs: number, details: boolean): void {
  dw.writeAttribute('Name', m?.name ?? '');
  dw.writeAttribute('Namespace', m?.namespace ?? '');
  writeMapDesc(dw, m?.labels, 'Labels', details);
  writeMapDesc(dw, m?.annotations, 'Annotations', details);
  dw.writeAttribute('Age', describeAge(m?.creationTimestamp, nowMs));
}

function statusSymbol(c: Condition): string {
  if (c.status === 'True') return '++';
  if (c.status === 'False') {
    switch (c.severity) {
      case 'Error':
        return '!!';
      case 'Warning':
        return ' W';
      case 'Info':
        return ' I';
      default:
        return ' !';
    }
  }
  return '??';
}

const SEVERITY_ORDER: Record<string, number> = { '': 0, Error: 0, Warning: 1, Info: 2 };

/** Ready first, then by severity (error, warning, info), then by type; stable. */
export function sortConditions(conditions: Condition[]): Condition[] {
  return conditions
    .map((c, i) => ({ c, i }))
    .sort((a, b) => {
      if (a.c.type === 'Ready' || b.c.type === 'Ready')
        return a.c.type === 'Ready' ? (b.c.type === 'Ready' ? a.i - b.i : -1) : 1;
      const sa = SEVERITY_ORDER[a.c.severity ?? ''] ?? 0,
        sb = SEVERITY_ORDER[b.c.severity ?? ''] ?? 0;
      if (sa === sb) return a.c.type < b.c.type ? -1 : a.c.type > b.c.type ? 1 : a.i - b.i;
      return sa - sb;
    })
    .map((x) => x.c);
}

function pad(s: string, n: number, right = false): string {
  const w = [...s].length;
  if (w >= n) return s;
  return right ? ' '.repeat(n - w) + s : s + ' '.repeat(n - w);
}

export function writeConditions(
  dw: PrefixWriter,
  conditions: Condition[] | undefined,
  nowMs: number,
  details: boolean,
): void {
  const section = dw.writeAttribute('Conditions', '');
  const cs = sortConditions(conditions ?? []);
  const maxLen = Math.max(0, ...cs.map((c) => c.type.length));
  const row = (ok: string, type: string, age: string, reason: string): string =>
    `${pad(ok, 2)} ${pad(type, maxLen)} ${pad(age, 6, true)} ${reason}\n`;
  section.write(row('OK', 'TYPE', 'AGE', 'REASON'));
  for (const c of cs) {
    let reason = c.reason ?? '';
    if (details && reason !== '') reason = `${reason} (${c.message ?? ''})`;
    section.write(row(statusSymbol(c), c.type, describeAge(c.lastTransitionTime, nowMs), reason));
  }
}

function mainContainer(r: Revision) {
  const cs = r.spec?.containers ?? [];
  if (cs.length === 1) return cs[0];
  return cs.find((c) => (c.ports ?? []).length > 0);
}

function shortenDigest(digest: string): string {
  const m = /^.*@?sha256:([0-9a-f]+)$/.exec(digest);
  return m ? m[1]!.slice(0, 6) : digest;
}

function writeImage(dw: PrefixWriter, r: Revision): void {
  const c = mainContainer(r);
  if (!c) {
    dw.writeAttribute('Image', 'Unknown');
    return;
  }
  let image = c.image ?? '';
  let pinned = 'at';
  const userImage = r.metadata?.annotations?.[ANNOTATION_USER_IMAGE] ?? '';
  const digest = r.status?.containerStatuses?.[0]?.imageDigest ?? '';
  if (userImage && digest) {
    const base = image.includes('@') ? image.split('@')[0]! : image.split(':')[0]!;
    if (userImage.startsWith(base)) {
      pinned = 'pinned to';
      image = userImage;
    }
  }
  if (digest) image = `${image} (${pinned} ${shortenDigest(digest)})`;
  dw.writeAttribute('Image', image);
}

function writeReplicas(dw: PrefixWriter, r: Revision): void {
  const a = r.status?.actualReplicas,
    d = r.status?.desiredReplicas;
  if (typeof a === 'number' && typeof d === 'number') dw.writeAttribute('Replicas', `${a}/${d}`);
}

function writePort(dw: PrefixWriter, r: Revision): void {
  const p = mainContainer(r)?.ports?.[0]?.containerPort;
  if (typeof p === 'number') dw.writeAttribute('Port', String(p));
}

function writeEnv(dw: PrefixWriter, r: Revision, details: boolean): void {
  const c = mainContainer(r);
  if (!c) return;
  writeSliceDesc(
    dw,
    (c.env ?? []).map((e) => `${e.name ?? ''}=${e.valueFrom ? '[ref]' : (e.value ?? '')}`),
    'Env',
    details,
  );
  const from: string[] = [];
  for (const f of c.envFrom ?? []) {
    const cm = f['configMapRef'] as { name?: string } | undefined;
    const sec = f['secretRef'] as { name?: string } | undefined;
    if (cm) from.push(`cm:${cm.name ?? ''}`);
    if (sec) from.push(`secret:${sec.name ?? ''}`);
  }
  writeSliceDesc(dw, from, 'EnvFrom', details);
}

function intAnnotation(r: Revision, ...keys: string[]): number | undefined {
  for (const k of keys) {
    const v = r.metadata?.annotations?.[k];
    if (v !== undefined && /^-?\d+$/.test(v)) return Number(v);
  }
  return undefined;
}

function writeScale(dw: PrefixWriter, r: Revision): void {
  const min = intAnnotation(r, ANNOTATION_MIN_SCALE, ANNOTATION_MIN_SCALE_OLD);
  const max = intAnnotation(r, ANNOTATION_MAX_SCALE, ANNOTATION_MAX_SCALE_OLD);
  if (min === undefined && max === undefined) return;
  dw.writeAttribute('Scale', `${min ?? 0} ... ${max ?? '∞'}`);
}

function writeConcurrency(dw: PrefixWriter, r: Revision): void {
  const target = intAnnotation(r, ANNOTATION_TARGET);
  const limit = r.spec?.containerConcurrency;
  const window = r.metadata?.annotations?.[ANNOTATION_WINDOW] ?? '';
  const util = intAnnotation(r, ANNOTATION_UTILIZATION);
  if (target === undefined && !limit && window === '' && util === undefined) return;
  const section = dw.writeAttribute('Concurrency', '');
  if (limit) section.writeAttribute('Limit', String(limit));
  if (target !== undefined) section.writeAttribute('Target', String(target));
  if (window) section.writeAttribute('Window', window);
  if (util !== undefined) section.writeAttribute('TargetUtilization', String(util));
}

function writeResources(dw: PrefixWriter, r: Revision): void {
  const c = mainContainer(r);
  if (!c) return;
  for (const [label, key] of [
    ['Memory', 'memory'],
    ['CPU', 'cpu'],
  ] as const) {
    const req = c.resources?.requests?.[key],
      lim = c.resources?.limits?.[key];
    const value = req && lim ? `${req} ... ${lim}` : (req ?? lim ?? '');
    if (value) dw.writeAttribute(label, value);
  }
}

/** `kn revision describe` layout. `service` is needed only with details (-v). */
export function describeRevision(r: Revision, service: Service | undefined, nowMs: number, details = false): string {
  const dw = new PrefixWriter();
  writeMetadata(dw, r.metadata, nowMs, details);
  writeImage(dw, r);
  writeReplicas(dw, r);
  writePort(dw, r);
  writeEnv(dw, r, details);
  writeScale(dw, r);
  writeConcurrency(dw, r);
  writeResources(dw, r);
  const svcName = r.metadata?.labels?.[LABEL_SERVICE];
  if (svcName !== undefined) {
    const section = dw.writeAttribute('Service', svcName);
    if (details && service) {
      const name = r.metadata?.name ?? '';
      section.writeAttribute('Configuration Generation', r.metadata?.labels?.[LABEL_CONFIGURATION_GENERATION] ?? '');
      section.writeAttribute('Latest Created', String(name === service.status?.latestCreatedRevisionName));
      section.writeAttribute('Latest Ready', String(name === service.status?.latestReadyRevisionName));
      const { percent, tags } = trafficAndTagsForRevision(name, service);
      if (percent !== 0) section.writeAttribute('Traffic', `${percent}%`);
      writeSliceDesc(section, tags, 'Tags', details);
    }
  }
  dw.writeLine();
  writeConditions(dw, r.status?.conditions, nowMs, details);
  return dw.toString();
}

/** One revision in `kn service describe`: its traffic share, tag and place relative to @latest. */
export interface RevisionDesc {
  revision: Revision;
  percent: number;
  tag: string;
  /** The target that routes to it has latestRevision: true. */
  latestTraffic: boolean;
  configurationGeneration: number;
  latestCreated: boolean;
  latestReady: boolean;
}

/**
 * The revisions `kn service describe` shows, newest configuration generation first: one per status
 * traffic target, then the latest created and latest ready revisions if not already shown, then (with
 * details) every other revision of the Service. `revisions` holds the Service's revisions by name.
 */
export function revisionDescs(service: Service, revisions: Map<string, Revision>, details: boolean): RevisionDesc[] {
  const seen = new Set<string>();
  const out: RevisionDesc[] = [];
  const desc = (r: Revision, t?: TrafficTarget): RevisionDesc => ({
    revision: r,
    percent: t?.percent ?? 0,
    tag: t?.tag ?? '',
    latestTraffic: t?.latestRevision === true,
    configurationGeneration: generationOf(r) ?? 0,
    latestCreated: r.metadata?.name === service.status?.latestCreatedRevisionName,
    latestReady: r.metadata?.name === service.status?.latestReadyRevisionName,
  });
  for (const t of service.status?.traffic ?? []) {
    const name = t.revisionName ?? (t.configurationName ? service.status?.latestCreatedRevisionName : undefined);
    const r = name ? revisions.get(name) : undefined;
    if (!r || !name) continue;
    seen.add(name);
    out.push(desc(r, t));
  }
  const extra = [service.status?.latestCreatedRevisionName, service.status?.latestReadyRevisionName];
  if (details) extra.push(...[...revisions.keys()].sort());
  for (const name of extra) {
    if (!name || seen.has(name)) continue;
    const r = revisions.get(name);
    if (!r) continue;
    seen.add(name);
    out.push(desc(r));
  }
  return out
    .map((d, i) => ({ d, i }))
    .sort((a, b) => b.d.configurationGeneration - a.d.configurationGeneration || a.i - b.i)
    .map((x) => x.d);
}

function formatBullet(percent: number, status: string): string {
  let symbol = '+';
  if (status === 'True') {
    if (percent > 0) symbol = '%';
  } else if (status === 'False') symbol = '!';
  else symbol = '?';
  return percent === 0 ? `   ${symbol}` : `${pad(String(percent), 3, true)}${symbol}`;
}

function revisionHeader(d: RevisionDesc, nowMs: number): string {
  const name = d.revision.metadata?.name ?? '';
  let header = name;
  if (d.latestTraffic) header = `@latest (${name})`;
  else if (d.latestReady) header = `${name} (current @latest)`;
  else if (d.latestCreated) header = `${name} (latest created)`;
  if (d.tag) header = `${header} #${d.tag}`;
  return `${header} [${d.configurationGeneration}] (${describeAge(d.revision.metadata?.creationTimestamp, nowMs)})`;
}

/** `kn service describe` layout. */
export function describeService(service: Service, descs: RevisionDesc[], nowMs: number, details = false): string {
  const dw = new PrefixWriter();
  writeMetadata(dw, service.metadata, nowMs, details);
  dw.writeAttribute('URL', service.status?.url ?? '');
  if (details && service.status?.address?.url) dw.writeAttribute('Cluster', service.status.address.url);
  const sa = service.spec?.template?.spec?.serviceAccountName;
  if (sa) dw.writeAttribute('Service Account', sa);
  const ips = service.spec?.template?.spec?.['imagePullSecrets'] as Array<{ name?: string }> | undefined;
  if (ips && ips.length > 0) dw.writeAttribute('Image Pull Secret', ips[0]!.name ?? '');
  dw.writeLine();
  dw.flush();

  const revSection = dw.writeAttribute('Revisions', '');
  dw.flush();
  for (const d of descs) {
    const ready = (d.revision.status?.conditions ?? []).find((c) => c.type === 'Ready') ?? {
      type: 'Ready',
      status: 'Unknown' as const,
    };
    const section = revSection.writeColsLn(formatBullet(d.percent, ready.status), revisionHeader(d, nowMs));
    if (ready.status === 'False') section.writeAttribute('Error', ready.reason ?? '');
    writeImage(section, d.revision);
    writeReplicas(section, d.revision);
    if (details) {
      writePort(section, d.revision);
      writeEnv(section, d.revision, details);
      writeScale(section, d.revision);
      writeConcurrency(section, d.revision);
      writeResources(section, d.revision);
    }
  }
  dw.writeLine();
  dw.flush();
  writeConditions(dw, service.status?.conditions, nowMs, details);
  return dw.toString();
}

function formatRouteTarget(t: TrafficTarget): string {
  let header = t.revisionName ?? '';
  if (t.latestRevision === true) header = `@latest (${t.revisionName ?? ''})`;
  if (t.tag) header = `${header} #${t.tag}`;
  return header;
}

/** `kn route describe` layout. */
export function describeRoute(route: Route, nowMs: number, details = false): string {
  const dw = new PrefixWriter();
  writeMetadata(dw, route.metadata, nowMs, details);
  dw.writeAttribute('URL', route.status?.url ?? '');
  for (const owner of route.metadata?.ownerReferences ?? []) {
    let svc = '';
    if (owner.kind === 'Service') svc = details ? `${owner.name} (${owner.apiVersion})` : owner.name;
    dw.writeAttribute('Service', svc);
  }
  dw.writeLine();
  const section = dw.writeAttribute('Traffic Targets', '');
  dw.flush();
  for (const t of route.status?.traffic ?? []) {
    const sub = section.writeColsLn(`${pad(String(t.percent ?? 0), 3, true)}%`, formatRouteTarget(t));
    if (t.tag) sub.writeAttribute('URL', t.url ?? '');
  }
  dw.writeLine();
  writeConditions(dw, route.status?.conditions, nowMs, details);
  return dw.toString();
}

// ----------------------------------------------------------------------------------------------- wait

/** A progress line while waiting: `%7.3fs message`, e.g. `  0.021s The Configuration is still ...`. */
export function progressLine(elapsedMs: number, message: string): string {
  return `${pad((Math.round(elapsedMs) / 1000).toFixed(3), 7, true)}s ${message}\n`;
}

/** The line after a successful wait: `  2.338s Ready to serve.` */
export function readyLine(elapsedMs: number): string {
  return progressLine(elapsedMs, 'Ready to serve.');
}

/**
 * The closing lines of create/update: `Service 'hello' created to latest revision 'hello-00001' is
 * available at URL:` or, when the latest ready revision did not change, `... with latest revision
 * '...' (unchanged) ...`.
 */
export function serviceUrlLines(service: Service, name: string, verbDone: string, originalRevision: string): string {
  const url = service.status?.url ?? '';
  const rev = service.status?.latestReadyRevisionName ?? '';
  if ((originalRevision !== '' && originalRevision === rev) || originalRevision === 'unchanged') {
    return `Service '${name}' with latest revision '${rev}' (unchanged) is available at URL:\n${url}\n`;
  }
  return `Service '${name}' ${verbDone} to latest revision '${rev}' is available at URL:\n${url}\n`;
}
