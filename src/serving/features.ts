// config-features as Knative's webhook reads it (pkg/apis/config/features.go): each pod spec feature is a flag,
// `Enabled`, `Allowed` or `Disabled` (case-insensitive; any other value keeps the default), and
// `secure-pod-defaults` also takes `AllowRootBounded`. The field masks let a field through unless its flag is
// Disabled; some checks (emptyDir, PVC, init containers, multi-container probing…) want it Enabled — the
// validation says which, as Knative's does.

export type FeatureFlag = 'Enabled' | 'Allowed' | 'Disabled' | 'AllowRootBounded';

export interface PodSpecFeatures {
  multiContainer: FeatureFlag;
  multiContainerProbing: FeatureFlag;
  affinity: FeatureFlag;
  topologySpreadConstraints: FeatureFlag;
  hostAliases: FeatureFlag;
  fieldRef: FeatureFlag;
  nodeSelector: FeatureFlag;
  runtimeClassName: FeatureFlag;
  securityContext: FeatureFlag;
  shareProcessNamespace: FeatureFlag;
  hostIPC: FeatureFlag;
  hostPID: FeatureFlag;
  hostNetwork: FeatureFlag;
  priorityClassName: FeatureFlag;
  schedulerName: FeatureFlag;
  addCapabilities: FeatureFlag;
  tolerations: FeatureFlag;
  emptyDir: FeatureFlag;
  hostPath: FeatureFlag;
  mountPropagation: FeatureFlag;
  csi: FeatureFlag;
  ephemeral: FeatureFlag;
  imageVolumes: FeatureFlag;
  persistentVolumeClaim: FeatureFlag;
  persistentVolumeWrite: FeatureFlag;
  initContainers: FeatureFlag;
  dnsPolicy: FeatureFlag;
  dnsConfig: FeatureFlag;
  securePodDefaults: FeatureFlag;
}

/** Knative's defaultFeaturesConfig(). */
export const FEATURE_DEFAULTS: Readonly<PodSpecFeatures> = Object.freeze({
  multiContainer: 'Enabled',
  multiContainerProbing: 'Disabled',
  affinity: 'Disabled',
  topologySpreadConstraints: 'Disabled',
  hostAliases: 'Disabled',
  fieldRef: 'Disabled',
  nodeSelector: 'Disabled',
  runtimeClassName: 'Disabled',
  securityContext: 'Disabled',
  shareProcessNamespace: 'Disabled',
  hostIPC: 'Disabled',
  hostPID: 'Disabled',
  hostNetwork: 'Disabled',
  priorityClassName: 'Disabled',
  schedulerName: 'Disabled',
  addCapabilities: 'Disabled',
  tolerations: 'Disabled',
  emptyDir: 'Enabled',
  hostPath: 'Disabled',
  mountPropagation: 'Disabled',
  csi: 'Disabled',
  ephemeral: 'Disabled',
  imageVolumes: 'Disabled',
  persistentVolumeClaim: 'Disabled',
  persistentVolumeWrite: 'Disabled',
  initContainers: 'Disabled',
  dnsPolicy: 'Disabled',
  dnsConfig: 'Disabled',
  securePodDefaults: 'Disabled',
});

/** The config-features key of each flag. */
export const FEATURE_KEYS: Readonly<Record<keyof PodSpecFeatures, string>> = Object.freeze({
  multiContainer: 'multi-container',
  multiContainerProbing: 'multi-container-probing',
  affinity: 'kubernetes.podspec-affinity',
  topologySpreadConstraints: 'kubernetes.podspec-topologyspreadconstraints',
  hostAliases: 'kubernetes.podspec-hostaliases',
  fieldRef: 'kubernetes.podspec-fieldref',
  nodeSelector: 'kubernetes.podspec-nodeselector',
  runtimeClassName: 'kubernetes.podspec-runtimeclassname',
  securityContext: 'kubernetes.podspec-securitycontext',
  shareProcessNamespace: 'kubernetes.podspec-shareprocessnamespace',
  hostIPC: 'kubernetes.podspec-hostipc',
  hostPID: 'kubernetes.podspec-hostpid',
  hostNetwork: 'kubernetes.podspec-hostnetwork',
  priorityClassName: 'kubernetes.podspec-priorityclassname',
  schedulerName: 'kubernetes.podspec-schedulername',
  addCapabilities: 'kubernetes.containerspec-addcapabilities',
  tolerations: 'kubernetes.podspec-tolerations',
  emptyDir: 'kubernetes.podspec-volumes-emptydir',
  hostPath: 'kubernetes.podspec-volumes-hostpath',
  mountPropagation: 'kubernetes.podspec-volumes-mount-propagation',
  csi: 'kubernetes.podspec-volumes-csi',
  ephemeral: 'kubernetes.podspec-volumes-ephemeral',
  imageVolumes: 'kubernetes.podspec-volumes-image',
  persistentVolumeClaim: 'kubernetes.podspec-persistent-volume-claim',
  persistentVolumeWrite: 'kubernetes.podspec-persistent-volume-write',
  initContainers: 'kubernetes.podspec-init-containers',
  dnsPolicy: 'kubernetes.podspec-dnspolicy',
  dnsConfig: 'kubernetes.podspec-dnsconfig',
  securePodDefaults: 'secure-pod-defaults',
});

const PLAIN: readonly FeatureFlag[] = ['Enabled', 'Allowed', 'Disabled'];
const SECURE_POD_DEFAULTS: readonly FeatureFlag[] = ['Disabled', 'AllowRootBounded', 'Enabled'];

/** One value as Knative's asFlag parses it: case-insensitive, no trimming; anything else is undefined. */
export function parseFlag(raw: string | undefined, secureDefaults = false): FeatureFlag | undefined {
  if (raw === undefined) return undefined;
  return (secureDefaults ? SECURE_POD_DEFAULTS : PLAIN).find((f) => f.toLowerCase() === raw.toLowerCase());
}

/** config-features' data → flags, defaults for what is absent or does not parse. */
export function parseFeatures(data: Readonly<Record<string, string>> | undefined): PodSpecFeatures {
  const out: PodSpecFeatures = { ...FEATURE_DEFAULTS };
  for (const k of Object.keys(FEATURE_KEYS) as Array<keyof PodSpecFeatures>) {
    const v = parseFlag(data?.[FEATURE_KEYS[k]], k === 'securePodDefaults');
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** The masks' test: a field passes unless its feature is Disabled. */
export const permits = (f: FeatureFlag): boolean => f !== 'Disabled';

/** secure-pod-defaults in force (Enabled or AllowRootBounded). */
export const securePodDefaultsOn = (f: PodSpecFeatures): boolean =>
  f.securePodDefaults === 'Enabled' || f.securePodDefaults === 'AllowRootBounded';
