// Lays out a revision's ConfigMap/Secret volumes on disk the way the kubelet's AtomicWriter does, so programs
// that watch mounted configuration (for `..data` changing) behave as on a cluster:
//   <root>/<volume>/..2026_12_05_03_26_52.123456789/<files>   the payload, one timestamped directory
//   <root>/<volume>/..data -> ..2026_12_05_...               swapped atomically (rename of a new symlink)
//   <root>/<volume>/<top-level name> -> ..data/<name>         the user-visible entries
// An unchanged payload is left alone (no swap, no new directory). Synchronous: payloads are small, and a
// writer that finishes before the process starts needs no ordering beyond the call.
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  chmodSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { RuntimeError } from './errors.js';
import type { ResolvedCommand } from './image-table.js';

export interface VolumeFileSpec {
  path: string;
  /** Written as is: text as UTF-8, bytes as bytes. */
  content: string | Uint8Array;
  mode: number;
}

export interface VolumeSpec {
  name: string;
  emptyDir?: boolean;
  files?: VolumeFileSpec[];
}

const DATA = '..data';
const DATA_TMP = '..data_tmp';

function timestampDir(now: Date, seq: bigint): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const ns = (BigInt(now.getUTCMilliseconds()) * 1_000_000n + (seq % 1_000_000n)).toString().padStart(9, '0');
  return `..${now.getUTCFullYear()}_${p(now.getUTCMonth() + 1)}_${p(now.getUTCDate())}_${p(now.getUTCHours())}_${p(now.getUTCMinutes())}_${p(now.getUTCSeconds())}.${ns}`;
}

let seq = 0n;

function unsafe(path: string): boolean {
  return path === '' || path.startsWith('/') || path.split('/').some((s) => s === '..' || s === '' || s === '.');
}

/** True when `dir/..data` holds exactly these files with these contents and modes. */
function sameAsCurrent(dir: string, files: VolumeFileSpec[]): boolean {
  const data = join(dir, DATA);
  if (!existsSync(data)) return false;
  const count = (d: string): number =>
    readdirSync(d, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? count(join(d, e.name)) : 1), 0);
  if (count(data) !== files.length) return false;
  for (const f of files) {
    const p = join(data, f.path);
    if (!existsSync(p)) return false;
    const st = statSync(p);
    const want = typeof f.content === 'string' ? Buffer.from(f.content, 'utf8') : f.content;
    if ((st.mode & 0o777) !== f.mode || !readFileSync(p).equals(want)) return false;
  }
  return true;
}

/**
 * Write one volume's payload under `dir`, swapping `..data` atomically. Returns true when something changed.
 * Throws RuntimeError SLUICE_ERR_VOLUME for a path that would leave the volume.
 */
export function writeAtomic(dir: string, files: VolumeFileSpec[], now: Date): boolean {
  for (const f of files)
    if (unsafe(f.path))
      throw new RuntimeError(
        'SLUICE_ERR_VOLUME',
        `Volume file path ${JSON.stringify(f.path)} must be relative without ".."`,
        {
          path: f.path,
        },
      );
  mkdirSync(dir, { recursive: true });
  if (sameAsCurrent(dir, files)) return false;
  const ts = timestampDir(now, seq++);
  const payload = join(dir, ts);
  mkdirSync(payload, { recursive: true });
  for (const f of files) {
    const p = join(payload, f.path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, f.content, { mode: f.mode });
    chmodSync(p, f.mode); // the umask applies to writeFileSync's mode
  }
  const old = existsSync(join(dir, DATA)) ? readlinkSync(join(dir, DATA)) : undefined;
  rmSync(join(dir, DATA_TMP), { force: true });
  symlinkSync(ts, join(dir, DATA_TMP));
  renameSync(join(dir, DATA_TMP), join(dir, DATA));
  const top = new Set(files.map((f) => f.path.split('/')[0] ?? ''));
  for (const name of top) {
    const link = join(dir, name);
    let isLink = false;
    try {
      isLink = lstatSync(link).isSymbolicLink();
    } catch {
      symlinkSync(join(DATA, name), link);
      continue;
    }
    if (!isLink) rmSync(link, { recursive: true, force: true });
    if (!isLink) symlinkSync(join(DATA, name), link);
  }
  // Entries of the previous payload that are gone now.
  for (const e of readdirSync(dir)) {
    if (e.startsWith('..') || top.has(e)) continue;
    rmSync(join(dir, e), { recursive: true, force: true });
  }
  if (old && old !== ts) rmSync(join(dir, old), { recursive: true, force: true });
  return true;
}

/**
 * Lay out the revision's ConfigMap/Secret/projected volumes under `root/<volume>`, shared by its processes as
 * the kubelet's copies are identical across pods. emptyDir volumes are per pod: see podEmptyDirs.
 * Returns each laid-out volume's local directory by name.
 */
export function syncVolumes(root: string, volumes: readonly VolumeSpec[], now: Date): Map<string, string> {
  const dirs = new Map<string, string>();
  // Owner-only, like the kubelet's pod volume directory: Secret payloads live here.
  mkdirSync(root, { recursive: true, mode: 0o700 });
  for (const v of volumes) {
    if (unsafe(v.name))
      throw new RuntimeError('SLUICE_ERR_VOLUME', `Volume name ${JSON.stringify(v.name)} is not a plain name`, {
        path: 'spec.volumes',
      });
    if (v.emptyDir) continue;
    const dir = join(root, v.name);
    writeAtomic(dir, v.files ?? [], now);
    dirs.set(v.name, dir);
  }
  return dirs;
}

const PODS = '..pods';

/**
 * One process's emptyDir volumes, `root/..pods/<id>/<volume>`, empty at first: the kubelet gives each pod its
 * own, kept across container restarts and deleted with the pod (removePodDirs). `..` keeps them apart from
 * volume names, which are DNS labels.
 */
export function podEmptyDirs(root: string, podId: number, volumes: readonly VolumeSpec[]): Map<string, string> {
  const dirs = new Map<string, string>();
  for (const v of volumes) {
    if (!v.emptyDir || unsafe(v.name)) continue;
    const dir = join(root, PODS, String(podId), v.name);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    dirs.set(v.name, dir);
  }
  return dirs;
}

export function removePodDirs(root: string, podId: number): void {
  rmSync(join(root, PODS, String(podId)), { recursive: true, force: true });
}

/**
 * The container's mounts → local paths, for `SLUICE_VOLUME_MOUNTS` (JSON `{mountPath: localPath}`): a program
 * reads its mounted files from the local path where a cluster would have them at mountPath.
 */
export function mountTable(
  mounts: ReadonlyArray<{ name: string; mountPath: string; subPath?: string }>,
  dirs: ReadonlyMap<string, string>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of mounts) {
    const d = dirs.get(m.name);
    if (d === undefined) continue;
    out[m.mountPath] = m.subPath && !unsafe(m.subPath) ? join(d, m.subPath) : d;
  }
  return out;
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A process cannot own `/etc/config`, so paths under a mount path are rewritten to the volume's local directory
 * wherever the container names them: in argv, in env values and in workingDir — a whole value (`/etc/config`,
 * `/etc/config/app.yaml`) or a flag's value after `=` (`--config=/etc/config/app.yaml`). The longest mount path
 * wins; `/etc/configs` is not under `/etc/config`.
 */
export function localisePaths(command: ResolvedCommand, table: Readonly<Record<string, string>>): ResolvedCommand {
  const mounts = Object.keys(table)
    .filter((m) => m.startsWith('/') && m !== '/')
    .sort((a, b) => b.length - a.length);
  if (mounts.length === 0) return command;
  const re = new RegExp(`(^|=)(${mounts.map((m) => escapeRe(m.replace(/\/+$/, ''))).join('|')})(?=/|$)`);
  const local = (s: string): string =>
    s.replace(re, (_all, lead: string, mp: string) => `${lead}${table[mp] ?? table[`${mp}/`] ?? mp}`);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(command.env)) env[k] = local(v);
  return {
    ...command,
    argv: command.argv.map(local),
    env,
    ...(command.workingDir !== undefined ? { workingDir: local(command.workingDir) } : {}),
  };
}
