// ConfigMap, Secret, projected and emptyDir volumes: which files a volume holds, resolved as the kubelet's
// volume plugins do (pkg/volume/configmap, secret, projected): every key as a file, or only `items` at their
// `path`; `mode` per item, else `defaultMode` (0644); a missing non-optional source or item key fails the
// mount with the kubelet's FailedMount message. Pure: the caller passes the lookups and writes the files.
/** A ConfigMap's or Secret's payload as bytes (config-sources.ts payloadBytes), undefined when it does not exist. */
export type PayloadLookup = (namespace: string, name: string) => Record<string, Uint8Array> | undefined;

export interface VolumeLookups {
  configMap: PayloadLookup;
  secret: PayloadLookup;
}

export interface VolumeFile {
  /** Relative to the volume's root, `/`-separated, no `..`. */
  path: string;
  /** Raw bytes, as the kubelet writes them. */
  content: Uint8Array;
  mode: number;
}

export interface ResolvedVolume {
  name: string;
  /** emptyDir: an empty, writable directory; otherwise the files to lay out. */
  emptyDir: boolean;
  files: VolumeFile[];
}

export type VolumeResolution =
  { ok: true; volumes: ResolvedVolume[] } | { ok: false; reason: 'FailedMount'; volume: string; message: string };

/** Kubernetes' default for configMap, secret and projected volumes: 0644. */
export const DEFAULT_VOLUME_MODE = 0o644;

type Json = Record<string, unknown>;
const rec = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const mode = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0o777 ? v : undefined;

/** A path Kubernetes' validation accepts for an item: relative, no `..` element. */
export function safeItemPath(p: string): boolean {
  return p !== '' && !p.startsWith('/') && !p.split('/').some((s) => s === '..' || s === '');
}

class MountError extends Error {}

/** The files of one source (a configMap or secret volume, or one projected source). */
function sourceFiles(
  kind: 'configmap' | 'secret',
  ref: Json,
  name: string,
  data: Record<string, Uint8Array> | undefined,
  defaultMode: number,
): VolumeFile[] {
  if (!data) {
    if (ref['optional'] === true) return [];
    throw new MountError(`${kind} "${name}" not found`);
  }
  const items = Array.isArray(ref['items']) ? ref['items'].map(rec) : undefined;
  if (!items || items.length === 0)
    return Object.keys(data)
      .sort()
      .map((k) => ({ path: k, content: data[k] ?? new Uint8Array(), mode: defaultMode }));
  const out: VolumeFile[] = [];
  for (const it of items) {
    const key = str(it['key']) ?? '';
    const path = str(it['path']) ?? key;
    const v = data[key];
    if (v === undefined) {
      if (ref['optional'] === true) continue;
      throw new MountError(
        kind === 'configmap'
          ? `configmap references non-existent config key: ${key}`
          : `references non-existent secret key: ${key}`,
      );
    }
    if (!safeItemPath(path)) throw new MountError(`invalid path ${JSON.stringify(path)} for key ${key}`);
    out.push({ path, content: v, mode: mode(it['mode']) ?? defaultMode });
  }
  return out;
}

/** Resolve the pod spec's `volumes` (stored JSON) in `namespace`. Volumes of other kinds are left out. */
export function resolveVolumes(podSpec: unknown, namespace: string, lookups: VolumeLookups): VolumeResolution {
  const volumes: ResolvedVolume[] = [];
  for (const raw of Array.isArray(rec(podSpec)['volumes']) ? (rec(podSpec)['volumes'] as unknown[]) : []) {
    const v = rec(raw);
    const name = str(v['name']) ?? '';
    try {
      if (v['emptyDir'] !== undefined) volumes.push({ name, emptyDir: true, files: [] });
      else if (v['configMap'] !== undefined) {
        const ref = rec(v['configMap']);
        const n = str(ref['name']) ?? '';
        const files = sourceFiles(
          'configmap',
          ref,
          n,
          lookups.configMap(namespace, n),
          mode(ref['defaultMode']) ?? DEFAULT_VOLUME_MODE,
        );
        volumes.push({ name, emptyDir: false, files });
      } else if (v['secret'] !== undefined) {
        const ref = rec(v['secret']);
        const n = str(ref['secretName']) ?? '';
        const files = sourceFiles(
          'secret',
          ref,
          n,
          lookups.secret(namespace, n),
          mode(ref['defaultMode']) ?? DEFAULT_VOLUME_MODE,
        );
        volumes.push({ name, emptyDir: false, files });
      } else if (v['projected'] !== undefined) {
        const p = rec(v['projected']);
        const dm = mode(p['defaultMode']) ?? DEFAULT_VOLUME_MODE;
        const files = new Map<string, VolumeFile>();
        for (const s of Array.isArray(p['sources']) ? p['sources'].map(rec) : []) {
          const cm = s['configMap'] !== undefined ? rec(s['configMap']) : undefined;
          const sec = s['secret'] !== undefined ? rec(s['secret']) : undefined;
          const ref = cm ?? sec;
          if (!ref) continue; // downwardAPI, serviceAccountToken: nothing to project locally
          const n = str(ref['name']) ?? '';
          const data = cm ? lookups.configMap(namespace, n) : lookups.secret(namespace, n);
          for (const f of sourceFiles(cm ? 'configmap' : 'secret', ref, n, data, dm)) files.set(f.path, f);
        }
        volumes.push({ name, emptyDir: false, files: [...files.values()] });
      }
    } catch (e) {
      if (!(e instanceof MountError)) throw e;
      return {
        ok: false,
        reason: 'FailedMount',
        volume: name,
        message: `MountVolume.SetUp failed for volume "${name}" : ${e.message}`,
      };
    }
  }
  return { ok: true, volumes };
}
