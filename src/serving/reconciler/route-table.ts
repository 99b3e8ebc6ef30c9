// A Route's computed ingress (reconcileRoute's `ingress`: splits per traffic name and host → traffic name)
// as the data plane's route entry. The main host carries the "" split; each tag becomes a 0 % entry naming
// its revision and hosts, which the router serves on the tag's hosts only.
import { CLUSTER_DOMAIN } from '../domains.js';
import type { IngressProgram } from '../route-reconcile.js';
import type { DataPlaneRoute, DataPlaneTrafficTarget } from './data-plane.js';

/**
 * A cluster-local host also answers by its short forms, as it would inside a cluster:
 * `hello.default.svc.cluster.local` → also `hello.default.svc` and `hello.default`.
 */
export function hostAliases(host: string): string[] {
  const suffix = `.svc.${CLUSTER_DOMAIN}`;
  if (!host.endsWith(suffix)) return [host];
  const base = host.slice(0, -suffix.length);
  return [host, `${base}.svc`, base];
}

export function dataPlaneRoute(
  namespace: string,
  name: string,
  ingress: Pick<IngressProgram, 'splits' | 'hosts'>,
): DataPlaneRoute {
  const hostsOf = (traffic: string): string[] =>
    Object.entries(ingress.hosts)
      .filter(([, n]) => n === traffic)
      .map(([h]) => h)
      .sort()
      .flatMap(hostAliases);
  const traffic: DataPlaneTrafficTarget[] = (ingress.splits.get('') ?? [])
    .filter((s) => s.percent > 0)
    .map((s) => ({ revisionName: s.revisionName, percent: s.percent }));
  const tags = [...ingress.splits.keys()].filter((t) => t !== '').sort();
  for (const tag of tags) {
    // A tag names one revision; during a gradual rollout of a tagged latest target the router serves the
    // revision with the larger share on the tag's host.
    const best = [...(ingress.splits.get(tag) ?? [])].sort((a, b) => b.percent - a.percent)[0];
    if (!best) continue;
    traffic.push({ revisionName: best.revisionName, percent: 0, tag, hosts: hostsOf(tag) });
  }
  return { namespace, name, hosts: hostsOf(''), traffic };
}
