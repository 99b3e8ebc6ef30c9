// Destination resolution (knative/pkg's URIResolver) over cached objects: a core v1 Service is addressed by
// its cluster-local name without reading it; any other ref must be Addressable (status.addresses[0], else
// status.address); a ref with a relative uri resolves against the ref's address; a bare uri is used as is.
import type { KubeObject } from '../../kube/index.js';
import type { Resolution } from '../broker-lifecycle.js';
import { CLUSTER_DOMAIN } from '../keys.js';
import type { Destination, KReference } from '../types.js';

export interface AddressableLister {
  /** The object named by a ref, or undefined when it does not exist. Throws for a kind Sluice cannot read. */
  get(ref: KReference, namespace: string): KubeObject | undefined;
}

/** `services.serving.knative.dev`-style resource name of a ref, for not-found messages. */
function groupResource(ref: KReference): string {
  const group = (ref.apiVersion ?? '').includes('/') ? (ref.apiVersion ?? '').split('/')[0] : '';
  const plural = `${(ref.kind ?? '').toLowerCase()}s`;
  return group ? `${plural}.${group}` : plural;
}

export function resolveDestination(
  dest: Destination | undefined,
  namespace: string,
  lister: AddressableLister,
): Resolution {
  if (!dest) return { error: 'destination missing' };
  const ref = dest.ref;
  if (!ref) {
    if (!dest.uri) return { error: 'destination missing ref and uri' };
    return { uri: dest.uri };
  }
  const ns = ref.namespace || namespace;
  let base: string;
  if (ref.apiVersion === 'v1' && ref.kind === 'Service') {
    base = `http://${ref.name}.${ns}.svc.${CLUSTER_DOMAIN}`;
  } else {
    let obj: KubeObject | undefined;
    try {
      obj = lister.get(ref, ns);
    } catch (e) {
      return { error: e instanceof Error ? e.message : String(e) };
    }
    if (!obj) {
      return {
        error: `failed to get object ${ns}/${ref.name}: ${groupResource(ref)} ${JSON.stringify(ref.name)} not found`,
      };
    }
    const status = obj['status'] as { address?: { url?: string }; addresses?: { url?: string }[] } | undefined;
    const addr = status?.addresses?.[0] ?? status?.address;
    const refText = `${ref.kind} ${ns}/${ref.name} (${ref.apiVersion})`;
    if (!addr) return { error: `address not set for ${refText}` };
    if (!addr.url) return { error: `URL missing in address of ${refText}` };
    base = addr.url;
  }
  if (dest.uri) {
    try {
      // Go's URL.ResolveReference: `x` against `http://h/ns/b` is `http://h/ns/x`, `/x` is `http://h/x`.
      return { uri: new URL(dest.uri, base).toString() };
    } catch {
      return { error: `cannot resolve ${JSON.stringify(dest.uri)} against ${base}` };
    }
  }
  return { uri: base };
}
