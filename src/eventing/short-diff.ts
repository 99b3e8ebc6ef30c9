// knative/pkg kmp.ShortDiff as it prints for the small Eventing structs that are immutable (BrokerSpec, a
// Trigger's broker name): `{v1.BrokerSpec}.Config.Name:\n\t-: "name"\n\t+: "name2"\n`, Go field names in
// declaration order.
import { isRecord } from '../serving/json.js';

const GO_NAMES: Record<string, string> = { apiVersion: 'APIVersion', uri: 'URI', CACerts: 'CACerts' };
const goName = (k: string): string => GO_NAMES[k] ?? k.charAt(0).toUpperCase() + k.slice(1);

const show = (v: unknown): string =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);

function walk(a: unknown, b: unknown, path: string, out: string[]): void {
  if (isRecord(a) && isRecord(b)) {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])]) walk(a[k], b[k], `${path}.${goName(k)}`, out);
    return;
  }
  const empty = (v: unknown): boolean => v === undefined || v === null || v === '';
  if (a === b || (empty(a) && empty(b))) return;
  let diff = `${path}:\n`;
  if (a !== undefined) diff += `\t-: "${show(a)}"\n`;
  if (b !== undefined) diff += `\t+: "${show(b)}"\n`;
  out.push(diff);
}

/** '' when equal. `root` is Go's type name, e.g. `{v1.BrokerSpec}` or `{string}`. */
export function goShortDiff(a: unknown, b: unknown, root: string): string {
  const out: string[] = [];
  walk(a, b, root, out);
  return out.join('');
}
