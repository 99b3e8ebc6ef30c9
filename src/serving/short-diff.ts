// A rendering of knative/pkg kmp.ShortDiff for the Go structs behind Revision templates, so immutability
// errors carry details like `{*v1.RevisionTemplateSpec}.Spec.PodSpec.Containers[0].Image:\n\t-: "a"\n\t+: "b"\n`.
// Leaves are exact for strings, numbers and booleans; whole-struct additions print as JSON, not Go's %+v.

import { isRecord } from './json.js';

/** JSON names whose Go field name is not the capitalized JSON name. */
const GO_NAMES: Record<string, string> = {
  metadata: 'ObjectMeta',
  httpGet: 'HTTPGet',
  tcpSocket: 'TCPSocket',
  grpc: 'GRPC',
  uid: 'UID',
  tty: 'TTY',
  hostIP: 'HostIP',
  podIP: 'PodIP',
};

const REVISION_SPEC_OWN = new Set([
  'containerConcurrency',
  'timeoutSeconds',
  'responseStartTimeoutSeconds',
  'idleTimeoutSeconds',
]);

const goName = (k: string): string => GO_NAMES[k] ?? k.charAt(0).toUpperCase() + k.slice(1);

type Shape = 'template' | 'revisionSpec' | 'other';

function fieldStep(shape: Shape, key: string): [string, Shape] {
  if (shape === 'template') return key === 'spec' ? ['.Spec', 'revisionSpec'] : [`.${goName(key)}`, 'other'];
  if (shape === 'revisionSpec')
    return REVISION_SPEC_OWN.has(key) ? [`.${goName(key)}`, 'other'] : [`.PodSpec.${goName(key)}`, 'other'];
  return [`.${goName(key)}`, 'other'];
}

function show(v: unknown): string {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
}

function walk(a: unknown, b: unknown, path: string, shape: Shape, inMap: boolean, out: string[]): void {
  if (isRecord(a) && isRecord(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    // Go visits struct fields in declaration order and map keys sorted; sorting keeps output stable.
    if (inMap) keys.sort();
    for (const k of keys) {
      const [step, next] = inMap ? [`[${JSON.stringify(k)}]`, 'other' as Shape] : fieldStep(shape, k);
      const childIsMap =
        !inMap && (k === 'labels' || k === 'annotations' || k === 'requests' || k === 'limits' || k === 'nodeSelector');
      walk(a[k], b[k], path + step, next, childIsMap, out);
    }
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const n = Math.max(a.length, b.length);
    for (let i = 0; i < n; i++) walk(a[i], b[i], `${path}[${i}]`, 'other', false, out);
    return;
  }
  if (a === b || (a === undefined && b === null) || (a === null && b === undefined)) return;
  let diff = `${path}:\n`;
  if (a !== undefined) diff += `\t-: "${show(a)}"\n`;
  if (b !== undefined) diff += `\t+: "${show(b)}"\n`;
  out.push(diff);
}

/** ShortDiff of two RevisionTemplateSpecs (pointers in Knative, hence `{*v1.RevisionTemplateSpec}`). */
export function shortDiffTemplate(oldT: unknown, newT: unknown): string {
  const out: string[] = [];
  walk(oldT, newT, '{*v1.RevisionTemplateSpec}', 'template', false, out);
  return out.join('');
}

/** ShortDiff of two RevisionSpecs (values in Knative, hence `{v1.RevisionSpec}`). */
export function shortDiffRevisionSpec(oldS: unknown, newS: unknown): string {
  const out: string[] = [];
  walk(oldS, newS, '{v1.RevisionSpec}', 'revisionSpec', false, out);
  return out.join('');
}
