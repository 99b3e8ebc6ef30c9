// `service export`: the objects kn's pkg/commands/service/export.go builds from a Service and its
// Revisions, as pure functions. `--mode export` (the default) gives a client.knative.dev/v1alpha1 Export
// holding the Service and the routed Revisions; `--mode replay` gives the Service alone, or with
// --with-revisions a v1 List with one Service per routed Revision, oldest first, so `kubectl apply`
// replays the history. Fields Go always serializes (`creationTimestamp: null`, `status: {}`,
// `resources: {}`, `revisions: null`) are written too, so the output reads as kn's.
import type { Container, ObjectMeta, Revision, RevisionSpec, Service, TrafficTarget } from '../../serving/types.js';
import { KnError } from './errors.js';

const IGNORED_SERVICE_ANNOTATIONS = [
  'serving.knative.dev/creator',
  'serving.knative.dev/lastModifier',
  'kubectl.kubernetes.io/last-applied-configuration',
];
const IGNORED_REVISION_ANNOTATIONS = [
  'serving.knative.dev/lastPinned',
  'serving.knative.dev/creator',
  'serving.knative.dev/routingStateModified',
  'client.knative.dev/updateTimestamp',
];
const IGNORED_LABELS = ['serving.knative.dev/configurationUID', 'serving.knative.dev/serviceUID'];
const LABEL_GENERATION = 'serving.knative.dev/configurationGeneration';

export type ExportMode = 'export' | 'replay';

export interface ExportOptions {
  withRevisions: boolean;
  mode: ExportMode;
}

type Obj = Record<string, unknown>;

/** A map as Go's encoding/json writes it: keys sorted; nil or empty is left out (omitempty). */
function goMap(
  m: Record<string, string> | undefined,
  drop: readonly string[] = [],
): Record<string, string> | undefined {
  if (!m) return undefined;
  const keys = Object.keys(m)
    .filter((k) => !drop.includes(k))
    .sort();
  if (keys.length === 0) return undefined;
  return Object.fromEntries(keys.map((k) => [k, m[k]!]));
}

/** ObjectMeta in Go's field order, creationTimestamp always present (null when unset). */
function goMeta(
  m: ObjectMeta,
  labels: Record<string, string> | undefined,
  annotations: Record<string, string> | undefined,
): Obj {
  const out: Obj = {};
  if (m.name) out['name'] = m.name;
  if (m.generateName) out['generateName'] = m.generateName;
  if (m.namespace) out['namespace'] = m.namespace;
  out['creationTimestamp'] = m['creationTimestamp'] ?? null;
  if (labels) out['labels'] = labels;
  if (annotations) out['annotations'] = annotations;
  return out;
}

/** A RevisionSpec with every container's `resources` present, as a Go Container always has it. */
function goSpec(spec: RevisionSpec | undefined): RevisionSpec {
  const s = structuredClone(spec ?? {});
  s.containers = (s.containers ?? []).map((c: Container) => (c.resources ? c : { ...c, resources: {} }));
  return s;
}

/** TypeMeta as Go writes it (kind first). */
function typeMeta(kind = 'Service', apiVersion = 'serving.knative.dev/v1'): Obj {
  return { kind, apiVersion };
}

/** kn's exportLatestService: the Service's template, and its traffic (with @latest resolved) when asked. */
function latestService(svc: Service, withRoutes: boolean): Obj {
  const meta = svc.metadata ?? {};
  const tmeta = svc.spec?.template?.metadata ?? {};
  const spec: Obj = {
    template: {
      metadata: goMeta(
        tmeta,
        goMap(tmeta.labels, IGNORED_LABELS),
        goMap(tmeta.annotations, IGNORED_REVISION_ANNOTATIONS),
      ),
      spec: goSpec(svc.spec?.template?.spec),
    },
  };
  if (withRoutes && (svc.spec?.traffic ?? []).length > 0) {
    spec['traffic'] = (svc.spec?.traffic ?? []).map((t: TrafficTarget) =>
      t.latestRevision === true
        ? goTarget({ ...t, revisionName: svc.status?.latestReadyRevisionName ?? '' })
        : goTarget(t),
    );
  }
  return {
    ...typeMeta(),
    metadata: goMeta(
      { name: meta.name },
      goMap(meta.labels, IGNORED_LABELS),
      goMap(meta.annotations, IGNORED_SERVICE_ANNOTATIONS),
    ),
    spec,
    status: {},
  };
}

/** A TrafficTarget in Go's field order, empty strings left out. */
function goTarget(t: TrafficTarget): Obj {
  const out: Obj = {};
  if (t.tag) out['tag'] = t.tag;
  if (t.revisionName) out['revisionName'] = t.revisionName;
  if (t.configurationName) out['configurationName'] = t.configurationName;
  if (t.latestRevision !== undefined) out['latestRevision'] = t.latestRevision;
  if (t.percent !== undefined) out['percent'] = t.percent;
  if (t.url) out['url'] = t.url;
  return out;
}

/** kn's exportRevision: name, labels, annotations and spec of a routed Revision. */
function exportRevision(rev: Revision): Obj {
  const meta = rev.metadata ?? {};
  return {
    ...typeMeta('Revision'),
    metadata: goMeta(
      { name: meta.name },
      goMap(meta.labels, IGNORED_LABELS),
      goMap(meta.annotations, IGNORED_REVISION_ANNOTATIONS),
    ),
    spec: goSpec(rev.spec),
    status: {},
  };
}

/**
 * kn's constructServiceFromRevision: the Service as it was when `rev` was its latest — the Service's
 * metadata and template labels, the Revision's spec, annotations and name, no traffic.
 */
function serviceFromRevision(svc: Service, rev: Revision): Obj {
  const meta = svc.metadata ?? {};
  const tmeta = svc.spec?.template?.metadata ?? {};
  return {
    ...typeMeta(),
    metadata: goMeta(
      { name: meta.name },
      goMap(meta.labels, IGNORED_LABELS),
      goMap(meta.annotations, IGNORED_SERVICE_ANNOTATIONS),
    ),
    spec: {
      template: {
        metadata: goMeta(
          { ...tmeta, name: rev.metadata?.name },
          goMap(tmeta.labels, IGNORED_LABELS),
          goMap(rev.metadata?.annotations, IGNORED_REVISION_ANNOTATIONS),
        ),
        spec: goSpec(rev.spec),
      },
    },
    status: {},
  };
}

/** Oldest configuration generation first, then name descending (kn's export sort). */
export function sortForExport(revisions: readonly Revision[]): Revision[] {
  const gen = (r: Revision): number => {
    const v = r.metadata?.labels?.[LABEL_GENERATION] ?? '';
    return /^[+-]?\d+$/.test(v) ? Number(v) : Number.NaN;
  };
  // A stable sort, as Go's sort.SliceStable.
  return [...revisions].sort((a, b) => {
    const an = a.metadata?.name ?? '';
    const bn = b.metadata?.name ?? '';
    const ag = gen(a);
    const bg = gen(b);
    const byName = an > bn ? -1 : an < bn ? 1 : 0;
    if (Number.isNaN(ag) || Number.isNaN(bg)) return byName;
    if (ag !== bg) return ag - bg;
    return byName;
  });
}

/**
 * The object `service export` prints. `revisions` are the Service's Revisions (label
 * serving.knative.dev/service); they are read only with --with-revisions.
 * Throws kn's `no revisions found for the service NAME` when --with-revisions finds none.
 */
export function exportService(svc: Service, revisions: readonly Revision[], o: ExportOptions): Obj {
  const name = svc.metadata?.name ?? '';
  const routed = new Set((svc.spec?.traffic ?? []).map((t) => t.revisionName ?? '').filter((n) => n !== ''));
  const latestName = svc.spec?.template?.metadata?.name ?? '';
  let sorted: Revision[] = [];
  if (o.withRevisions) {
    if (revisions.length === 0) throw new KnError('SLUICE_ERR_KN_EXPORT', `no revisions found for the service ${name}`);
    sorted = sortForExport(revisions);
  }
  const routedOlder = sorted.filter((r) => routed.has(r.metadata?.name ?? '') && r.metadata?.name !== latestName);
  if (o.mode === 'replay') {
    if (!o.withRevisions) return latestService(svc, false);
    return {
      ...typeMeta('List', 'v1'),
      metadata: {},
      items: [...routedOlder.map((r) => serviceFromRevision(svc, r)), latestService(svc, sorted.length > 1)],
    };
  }
  return {
    ...typeMeta('Export', 'client.knative.dev/v1alpha1'),
    metadata: { creationTimestamp: null },
    spec: {
      service: latestService(svc, sorted.length > 1),
      revisions: routedOlder.length > 0 ? routedOlder.map(exportRevision) : null,
    },
  };
}
