// The kubelet's part of starting a container, for the embedded data plane: env from ConfigMaps and Secrets
// (serving/config-sources.ts), ConfigMap/Secret/projected/emptyDir volumes (serving/config-volumes.ts, written by
// runtime/config-volumes.ts) and the progress deadline that decides when a container that cannot be
// configured fails its Revision (the `serving.knative.dev/progress-deadline` annotation, else config-deployment's
// `progress-deadline`, as Knative sets the Deployment's progressDeadlineSeconds).
import type { KubeObject } from '../kube/index.js';
import type { RevisionSpec as RunSpec } from '../runtime/index.js';
import { configMapStrings, payloadBytes, resolveContainerEnv, secretStrings } from '../serving/config-sources.js';
import { resolveVolumes } from '../serving/config-volumes.js';
import { CONFIG_DEPLOYMENT } from '../serving/cluster-config.js';
import { parseGoDuration } from '../serving/go-duration.js';
import { ANNOTATION_PROGRESS_DEADLINE } from '../serving/keys.js';
import { SYSTEM_NAMESPACE, type Listers } from '../serving/reconciler/index.js';

type Json = Record<string, unknown>;
const rec = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});

/** Go duration → ms; undefined when unset or not a positive duration (admission refuses those). */
function durationMs(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const ns = parseGoDuration(s);
  return ns !== undefined && ns > 0 ? ns / 1e6 : undefined;
}

export function withConfigSources(run: RunSpec, rev: KubeObject, listers: Listers): RunSpec {
  const ns = rev.metadata.namespace ?? '';
  const lookups = {
    configMap: (n: string, name: string) => {
      const o = listers.configMaps.get(n, name);
      return o ? configMapStrings(o) : undefined;
    },
    secret: (n: string, name: string) => {
      const o = listers.secrets.get(n, name);
      return o ? secretStrings(o) : undefined;
    },
  };
  const raw = rec(rev['spec']);
  const containers = Array.isArray(raw['containers']) ? raw['containers'] : [];
  const out: RunSpec = { ...run, containers: [...run.containers] };
  for (let i = 0; i < containers.length && i < out.containers.length; i++) {
    const r = resolveContainerEnv(containers[i], ns, lookups);
    if (!r.ok) {
      out.containerConfigError = { reason: r.reason, message: r.message };
      break;
    }
    out.containers[i] = {
      ...out.containers[i],
      env: r.env.map((e) => (e.fromSource ? { name: e.name, value: e.value, fromSource: true } : e)),
    };
  }
  // Volumes are resolved on every reconcile: a changed ConfigMap or Secret reaches the files (the runtime swaps
  // `..data` only when the payload differs). A mount that fails leaves the pod in ContainerCreating, which is
  // the reason Knative reports once the progress deadline has passed; the message is the kubelet's FailedMount.
  const vols = resolveVolumes(raw, ns, {
    configMap: (n, name) => {
      const o = listers.configMaps.get(n, name);
      return o ? payloadBytes(o, 'configmap') : undefined;
    },
    secret: (n, name) => {
      const o = listers.secrets.get(n, name);
      return o ? payloadBytes(o, 'secret') : undefined;
    },
  });
  if (!vols.ok) out.containerConfigError ??= { reason: 'ContainerCreating', message: vols.message };
  else if (vols.volumes.length > 0) out.volumes = vols.volumes;
  const annotations = rev.metadata.annotations ?? {};
  const annotated = ANNOTATION_PROGRESS_DEADLINE.map((k) => annotations[k]).find((v) => v !== undefined);
  const cfg = rec(listers.configMaps.get(SYSTEM_NAMESPACE, CONFIG_DEPLOYMENT)?.['data']);
  const fromCfg = typeof cfg['progress-deadline'] === 'string' ? cfg['progress-deadline'] : undefined;
  const deadline = durationMs(annotated) ?? durationMs(fromCfg);
  if (deadline !== undefined) out.progressDeadlineMs = deadline;
  return out;
}
