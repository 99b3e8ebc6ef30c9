// config-features `secure-pod-defaults` as Knative's RevisionSpec.SetDefaults applies it (defaultSecurityContext in
// pkg/apis/serving/v1/revision_defaults.go): with `Enabled` or `AllowRootBounded`, every container (and init
// container) gets the `restricted` profile's settings where it sets none — allowPrivilegeEscalation false, a
// RuntimeDefault seccomp profile unless the pod sets one, capabilities dropping ALL (adding NET_BIND_SERVICE for a
// port below 1024); `Enabled` also sets runAsNonRoot unless the pod does. Changes `container` in place.
import { isRecord } from './json.js';
import type { Container } from './types.js';
import { securePodDefaultsOn, type PodSpecFeatures } from './features.js';

export function defaultSecurityContext(podSecurityContext: unknown, container: Container, f: PodSpecFeatures): void {
  if (!securePodDefaultsOn(f)) return;
  const psc = isRecord(podSecurityContext) ? podSecurityContext : {};
  const sc: Record<string, unknown> = isRecord(container.securityContext) ? { ...container.securityContext } : {};
  const unset = (v: unknown): boolean => v === undefined || v === null;
  if (unset(sc['allowPrivilegeEscalation'])) sc['allowPrivilegeEscalation'] = false;
  const podSeccomp = isRecord(psc['seccompProfile']) ? psc['seccompProfile'] : undefined;
  if (!podSeccomp || !podSeccomp['type']) {
    const own = isRecord(sc['seccompProfile']) ? { ...sc['seccompProfile'] } : {};
    if (!own['type']) own['type'] = 'RuntimeDefault';
    sc['seccompProfile'] = own;
  }
  if (unset(sc['capabilities'])) {
    const caps: Record<string, unknown> = { drop: ['ALL'] };
    if ((container.ports ?? []).some((p) => (p.containerPort ?? 0) < 1024)) caps['add'] = ['NET_BIND_SERVICE'];
    sc['capabilities'] = caps;
  }
  if (f.securePodDefaults === 'Enabled' && unset(psc['runAsNonRoot']) && unset(sc['runAsNonRoot']))
    sc['runAsNonRoot'] = true;
  if (Object.keys(sc).length > 0) container.securityContext = sc;
}
