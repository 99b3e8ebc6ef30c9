// Reading manifest files from Git: every `---` document of a `.yaml`/`.yml` file, with positions, checked
// enough that the API server's refusals are rare and every problem reads `apps/web.yaml:14:7: what is wrong`.
// Pure: text in, objects and problems out. A file with any problem yields no objects (it blocks only itself).
import { LineCounter, parseAllDocuments, isMap, isPair, isScalar, isSeq, type Document } from 'yaml';
import { R, type KubeObject, type ResourceRef } from '../kube/index.js';
import { parsePolicies } from '../rollout/policy/index.js';
import { GitOpsErrorCode } from './errors.js';

export type ManifestKind = 'Service' | 'RolloutPolicy' | 'ConfigMap' | 'Broker' | 'Trigger' | 'SinkBinding';

/** The kinds Sluice applies from Git, by `apiVersion` and `kind`. */
export const SUPPORTED: ReadonlyArray<{ apiVersion: string; kind: ManifestKind; ref: ResourceRef }> = [
  { apiVersion: 'serving.knative.dev/v1', kind: 'Service', ref: R.services },
  { apiVersion: 'delivery.sluice.dev/v1alpha1', kind: 'RolloutPolicy', ref: R.rolloutPolicies },
  { apiVersion: 'v1', kind: 'ConfigMap', ref: R.configMaps },
  { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', ref: R.brokers },
  { apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', ref: R.triggers },
  { apiVersion: 'sources.knative.dev/v1', kind: 'SinkBinding', ref: R.sinkBindings },
];

export interface Manifest {
  file: string;
  /** 1-based position of the document's first node. */
  line: number;
  column: number;
  /** Index of the document in its file. */
  index: number;
  kind: ManifestKind;
  ref: ResourceRef;
  /** Namespace after defaulting. */
  namespace: string;
  name: string;
  /** The object as written (namespace filled in). */
  object: KubeObject;
}

export interface ManifestProblem {
  code: GitOpsErrorCode;
  file: string;
  line: number;
  column: number;
  /** `spec.template.spec.containers: must list at least one container` */
  message: string;
}

export interface ParsedFile {
  file: string;
  manifests: Manifest[];
  problems: ManifestProblem[];
  /** Applied anyway, but worth saying (`sluice validate` prints them as `file:line:column: warning: ...`). */
  warnings: ManifestProblem[];
}

/** `Service/default/web`: the identity of an applied object, used by the inventory and pruning. */
export function objectId(kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

export function formatProblem(p: ManifestProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.message}`;
}

type Seg = string | number;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function pathText(path: readonly Seg[]): string {
  let out = '';
  for (const s of path) out += typeof s === 'number' ? `[${s}]` : out === '' ? s : `.${s}`;
  return out;
}

function startOf(node: unknown): number | undefined {
  if (node && typeof node === 'object' && 'range' in node) {
    const r = (node as { range?: unknown }).range;
    if (Array.isArray(r) && typeof r[0] === 'number') return r[0];
  }
  return undefined;
}

/** Offset of the value at `path`, or of the deepest ancestor's key when part of the path is missing. */
function locate(doc: Document, path: readonly Seg[]): number {
  let node: unknown = doc.contents;
  let best = startOf(node) ?? 0;
  let parentKey: number | undefined;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return parentKey ?? best;
      parentKey = startOf(pair.key);
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
      parentKey = undefined;
      node = node.items[seg];
    } else {
      return parentKey ?? best;
    }
    best = startOf(node) ?? best;
  }
  return best;
}

function show(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

/**
 * Parses one manifest file. `defaultNamespace` fills in objects written without one.
 * Problems are sorted by position; when there are any, `manifests` is empty.
 */
/**
 * Checks a caller adds beyond the shape checked here (the CLI passes Knative's own validation, which this
 * folder may not import). `text` is the whole message, kept as the check wrote it; `path` only places it.
 */
export type ExtraCheck = (
  kind: ManifestKind,
  object: Record<string, unknown>,
) => Array<{ path: Array<string | number>; text: string }>;

export function parseManifestFile(
  text: string,
  file: string,
  defaultNamespace: string,
  extra?: ExtraCheck,
): ParsedFile {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false });
  const out: ParsedFile = { file, manifests: [], problems: [], warnings: [] };
  const pos = (offset: number): { line: number; column: number } => {
    const p = lc.linePos(offset);
    return { line: p.line, column: p.col };
  };
  if (!Array.isArray(docs)) return out;
  const policyDocs: Array<{ from: number; to: number }> = [];
  docs.forEach((doc, index) => {
    const problem = (code: GitOpsErrorCode, path: readonly Seg[], detail: string, offset?: number): void => {
      const p = pos(offset ?? locate(doc, path));
      out.problems.push({ code, file, ...p, message: path.length ? `${pathText(path)}: ${detail}` : detail });
    };
    if (doc.errors.length > 0) {
      const err = doc.errors[0]!;
      problem(GitOpsErrorCode.ManifestYaml, [], `invalid YAML: ${err.message.split('\n')[0] ?? ''}`, err.pos[0]);
      return;
    }
    if (doc.contents === null) return;
    const value: unknown = doc.toJS();
    if (!isRecord(value)) {
      problem(
        GitOpsErrorCode.ManifestInvalid,
        [],
        `document ${index + 1} must be a mapping (a Kubernetes object), got ${Array.isArray(value) ? 'a list' : show(value)}`,
      );
      return;
    }
    const before = out.problems.length;
    const { apiVersion, kind } = value;
    if (typeof apiVersion !== 'string' || apiVersion === '')
      problem(GitOpsErrorCode.ManifestInvalid, ['apiVersion'], 'is required');
    if (typeof kind !== 'string' || kind === '') problem(GitOpsErrorCode.ManifestInvalid, ['kind'], 'is required');
    if (out.problems.length > before) return;
    let sup = SUPPORTED.find((s) => s.apiVersion === apiVersion && s.kind === kind);
    const caseOnly = sup
      ? undefined
      : SUPPORTED.find((s) => s.apiVersion === apiVersion && s.kind.toLowerCase() === String(kind).toLowerCase());
    if (caseOnly) {
      // `kn quickstart` applies `kind: broker`: kubectl's discovery RESTMapper also registers lowercase kinds, so
      // on a cluster the file applies. Git does the same (the object is sent with the served kind), and says so.
      const p = pos(locate(doc, ['kind']));
      out.warnings.push({
        code: GitOpsErrorCode.ManifestInvalid,
        file,
        ...p,
        message: `kind: ${show(kind)} is applied as ${show(caseOnly.kind)}, as kubectl maps it; write ${show(caseOnly.kind)} for tools that match kinds exactly`,
      });
      value.kind = caseOnly.kind;
      sup = caseOnly;
    }
    if (!sup) {
      const sameKind = SUPPORTED.find((s) => s.kind === kind);
      if (sameKind)
        problem(
          GitOpsErrorCode.ManifestInvalid,
          ['apiVersion'],
          `${String(kind)} must be ${sameKind.apiVersion}; got ${show(apiVersion)}`,
        );
      else
        problem(
          GitOpsErrorCode.ManifestInvalid,
          ['kind'],
          `${String(kind)} (${String(apiVersion)}) is not applied by Sluice; supported: ${SUPPORTED.map((s) => `${s.kind} (${s.apiVersion})`).join(', ')}`,
        );
      return;
    }
    const meta = value.metadata;
    if (!isRecord(meta)) {
      problem(GitOpsErrorCode.ManifestInvalid, ['metadata'], 'is required and must be a mapping with at least a name');
      return;
    }
    const name = meta.name;
    const nameRe = sup.kind === 'Service' ? DNS_LABEL : DNS_SUBDOMAIN;
    const maxLen = sup.kind === 'Service' ? 63 : 253;
    if (typeof name !== 'string' || name === '')
      problem(GitOpsErrorCode.ManifestInvalid, ['metadata', 'name'], 'is required');
    else if (!nameRe.test(name) || name.length > maxLen) {
      problem(
        GitOpsErrorCode.ManifestInvalid,
        ['metadata', 'name'],
        `${show(name)} is not a valid name: use at most ${maxLen} lower-case letters, digits and '-'${sup.kind === 'Service' ? '' : " or '.'"}, starting and ending with a letter or digit`,
      );
    }
    const ns = meta.namespace;
    if (ns !== undefined && (typeof ns !== 'string' || !DNS_LABEL.test(ns))) {
      problem(GitOpsErrorCode.ManifestInvalid, ['metadata', 'namespace'], `${show(ns)} is not a valid namespace name`);
    }
    for (const mk of ['labels', 'annotations']) {
      const m = meta[mk];
      if (m === undefined || m === null) continue;
      if (!isRecord(m)) problem(GitOpsErrorCode.ManifestInvalid, ['metadata', mk], 'must be a mapping of strings');
      else
        for (const [k, v] of Object.entries(m)) {
          if (typeof v !== 'string')
            problem(
              GitOpsErrorCode.ManifestInvalid,
              ['metadata', mk, k],
              `must be a string; got ${show(v)} (quote it)`,
            );
        }
    }
    if (sup.kind === 'Service') checkService(value, problem);
    if (sup.kind === 'ConfigMap') checkConfigMap(value, problem);
    if (extra && out.problems.length === before) {
      for (const x of extra(sup.kind, value)) {
        out.problems.push({
          code: GitOpsErrorCode.ManifestInvalid,
          file,
          ...pos(locate(doc, x.path)),
          message: x.text,
        });
      }
    }
    if (sup.kind === 'RolloutPolicy') {
      const from = startOf(doc.contents) ?? 0;
      const r = doc.range as unknown as number[];
      policyDocs.push({ from: pos(from).line, to: pos(r[1] ?? text.length).line });
    }
    if (out.problems.length > before) return;
    const namespace = typeof ns === 'string' ? ns : defaultNamespace;
    const object = { ...value, metadata: { ...meta, namespace } } as KubeObject;
    const p = pos(startOf(doc.contents) ?? 0);
    out.manifests.push({ file, ...p, index, kind: sup.kind, ref: sup.ref, namespace, name: name as string, object });
  });
  if (policyDocs.length > 0) {
    // The policy parser reports every document of the file; keep what falls inside a RolloutPolicy document.
    for (const e of parsePolicies(text, file).errors) {
      const line = e.line ?? 0;
      if (!policyDocs.some((d) => line >= d.from && line <= d.to)) continue;
      out.problems.push({
        code: GitOpsErrorCode.ManifestInvalid,
        file,
        line,
        column: e.column ?? 1,
        message: e.message,
      });
    }
  }
  out.problems.sort((a, b) => a.line - b.line || a.column - b.column);
  if (out.problems.length > 0) out.manifests = [];
  return out;
}

type Report = (code: GitOpsErrorCode, path: readonly Seg[], detail: string) => void;

function checkService(v: Record<string, unknown>, problem: Report): void {
  const spec = v.spec;
  if (!isRecord(spec))
    return problem(
      GitOpsErrorCode.ManifestInvalid,
      ['spec'],
      'is required: a Knative Service needs spec.template.spec.containers',
    );
  const tpl = spec.template;
  if (!isRecord(tpl))
    return problem(
      GitOpsErrorCode.ManifestInvalid,
      ['spec', 'template'],
      'is required: the revision template (spec.template.spec.containers)',
    );
  const tspec = tpl.spec;
  if (!isRecord(tspec))
    return problem(
      GitOpsErrorCode.ManifestInvalid,
      ['spec', 'template', 'spec'],
      'is required: the revision spec with its containers',
    );
  const cs = tspec.containers;
  if (!Array.isArray(cs) || cs.length === 0)
    return problem(
      GitOpsErrorCode.ManifestInvalid,
      ['spec', 'template', 'spec', 'containers'],
      'must list at least one container with an image',
    );
  cs.forEach((c, i) => {
    if (!isRecord(c))
      return problem(
        GitOpsErrorCode.ManifestInvalid,
        ['spec', 'template', 'spec', 'containers', i],
        'must be a mapping with an image',
      );
    if (typeof c.image !== 'string' || c.image.trim() === '')
      problem(
        GitOpsErrorCode.ManifestInvalid,
        ['spec', 'template', 'spec', 'containers', i, 'image'],
        'is required: the container image to run',
      );
  });
  const traffic = spec.traffic;
  if (traffic !== undefined && !Array.isArray(traffic))
    problem(GitOpsErrorCode.ManifestInvalid, ['spec', 'traffic'], 'must be a list of traffic targets');
}

function checkConfigMap(v: Record<string, unknown>, problem: Report): void {
  for (const key of ['data', 'binaryData']) {
    const d = v[key];
    if (d === undefined || d === null) continue;
    if (!isRecord(d)) {
      problem(GitOpsErrorCode.ManifestInvalid, [key], 'must be a mapping of strings');
      continue;
    }
    for (const [k, x] of Object.entries(d)) {
      if (typeof x !== 'string')
        problem(
          GitOpsErrorCode.ManifestInvalid,
          [key, k],
          `must be a string; got ${show(x)} (quote it: "${String(x)}")`,
        );
    }
  }
}
