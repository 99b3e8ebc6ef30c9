// Image → command table. There is no container engine: an image reference names a program to run on this
// machine. Built-in entries cover Knative's sample images (implemented by src/runtime/samples/*); a user file
// (JSON or YAML) adds or overrides entries. Matching ignores the tag and digest, as a laptop has one build of
// each program; `${tag}` in an entry still lets a table pass the tag on (e.g. as an env value).
import { readFile } from 'node:fs/promises';
import { dirname, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { errorMessage } from '../util/errors.js';
import { RuntimeError } from './errors.js';
import type { ContainerSpec } from './types.js';

export interface ImageEntry {
  /** Image reference without tag or digest, e.g. `gcr.io/knative-samples/helloworld-go`. */
  image: string;
  /** The image's ENTRYPOINT as argv. Placeholders: `${node}`, `${samples}`, `${dir}` (the table file's folder), `${tag}`. */
  command: string[];
  /** The image's CMD; replaced by the container's `args`. */
  args?: string[];
  /** Image-level environment; the container's `env` wins. */
  env?: Record<string, string>;
  workingDir?: string;
  description?: string;
}

export interface ImageRef {
  /** Registry/repository, normalised: `docker.io/library/nginx`, lower case. */
  repository: string;
  tag?: string;
  digest?: string;
}

/** How to start one process for a container. */
export interface ResolvedCommand {
  argv: string[];
  env: Record<string, string>;
  workingDir?: string;
  /** True when the program is one of our samples, which exit by themselves when the parent goes away. */
  watchesParent: boolean;
  /** Where the command came from, for status messages. */
  origin: 'container-command' | 'image-table';
}

export type ResolveResult = { ok: true; command: ResolvedCommand } | { ok: false; reason: string; message: string };

const SAMPLES_DIR = resolvePath(dirname(fileURLToPath(import.meta.url)), 'samples');

/** Folder of the compiled sample servers (next to this module in both dist/ and test builds). */
export function samplesDir(): string {
  return SAMPLES_DIR;
}

/**
 * Split and normalise an image reference the way Docker does: a first path segment without `.`/`:` (and not
 * `localhost`) is a Docker Hub user, a bare name is `library/…`, `index.docker.io` is `docker.io`.
 */
export function parseImageRef(ref: string): ImageRef {
  let rest = ref.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const parts = rest.split('/');
  const first = parts[0] ?? '';
  const hasRegistry = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasRegistry) parts.unshift('docker.io');
  if (parts[0] === 'index.docker.io') parts[0] = 'docker.io';
  if (parts[0] === 'docker.io' && parts.length === 2) parts.splice(1, 0, 'library');
  const out: ImageRef = { repository: parts.join('/').toLowerCase() };
  if (tag !== undefined) out.tag = tag;
  if (digest !== undefined) out.digest = digest;
  return out;
}

function sample(images: string[], script: string, description: string, env?: Record<string, string>): ImageEntry[] {
  return images.map((image) => ({
    image,
    command: ['${node}', `\${samples}/${script}`],
    description,
    ...(env ? { env } : {}),
  }));
}

const HELLO_LANGUAGES = [
  'go',
  'java',
  'java-spring',
  'java-sparkjava',
  'python',
  'nodejs',
  'ruby',
  'php',
  'csharp',
  'shell',
  'kotlin',
  'scala',
  'dart',
  'deno',
];

/** The entries shipped with Sluice. */
export function builtinImageEntries(): ImageEntry[] {
  const hello = 'Knative helloworld: answers "Hello ${TARGET}!" (TARGET defaults to World)';
  return [
    ...sample(
      [
        ...HELLO_LANGUAGES.map((l) => `gcr.io/knative-samples/helloworld-${l}`),
        ...HELLO_LANGUAGES.map((l) => `ghcr.io/knative/helloworld-${l}`),
        'registry.cn-hangzhou.aliyuncs.com/knative-sample/helloworld-go',
        'docker.io/knativesamples/helloworld-go',
      ],
      'helloworld.js',
      hello,
    ),
    // The Rust sample of the time of the seeds printed `Hello world: ${TARGET}` without a newline.
    ...sample(['gcr.io/knative-samples/helloworld-rust', 'ghcr.io/knative/helloworld-rust'], 'helloworld.js', hello, {
      SLUICE_HELLO_STYLE: 'rust',
    }),
    ...sample(
      ['gcr.io/knative-samples/autoscale-go', 'ghcr.io/knative/autoscale-go', 'docker.io/knativesamples/autoscale-go'],
      'autoscale.js',
      'Knative autoscale-go: ?sleep=MS, ?prime=N, ?bloat=MB',
    ),
    ...sample(
      ['registry.cn-hangzhou.aliyuncs.com/knative-sample/rest-api-go'],
      'rest-api.js',
      'rest-api-go: "Welcome to the ${RESOURCE} app!"',
    ),
    ...sample(
      ['docker.io/ruromero/cloudevents-player', 'quay.io/ruben/cloudevents-player'],
      'cloudevents-player.js',
      'cloudevents-player (Knative tutorial): POST / receives, GET|POST|DELETE /messages; sends to BROKER_URI or K_SINK',
    ),
    ...sample(
      ['sluice.dev/samples/echo', 'docker.io/ealen/echo-server', 'docker.io/mendhak/http-https-echo'],
      'echo.js',
      'Generic echo: returns the request as JSON; /status/CODE, /sleep/MS, /crash, WebSocket echo',
    ),
  ];
}

function substitute(s: string, vars: Record<string, string>): string {
  return s.replace(/\$\{(node|samples|dir|tag)\}/g, (_m, k: string) => vars[k] ?? '');
}

interface TableRow {
  entry: ImageEntry;
  /** Folder that `${dir}` expands to. */
  dir: string;
  builtin: boolean;
}

export class ImageTable {
  readonly #rows = new Map<string, TableRow>();

  /** Pre: `entries` come after the built-ins, so a user file can override a sample. */
  constructor(entries: ImageEntry[] = [], opts: { includeBuiltins?: boolean; dir?: string } = {}) {
    if (opts.includeBuiltins !== false) {
      for (const e of builtinImageEntries())
        this.#rows.set(parseImageRef(e.image).repository, { entry: e, dir: SAMPLES_DIR, builtin: true });
    }
    for (const e of entries)
      this.#rows.set(parseImageRef(e.image).repository, { entry: e, dir: opts.dir ?? process.cwd(), builtin: false });
  }

  /**
   * Read a table file: YAML or JSON, either `{images: [ImageEntry…]}`, a bare list, or a map
   * `{ "<image>": {command, args, env, workingDir} }`. Relative paths in commands can use `${dir}`.
   */
  static async fromFile(path: string): Promise<ImageTable> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      throw new RuntimeError('SLUICE_ERR_IMAGE_TABLE', `Image table ${path} cannot be read: ${errorMessage(e)}`, {
        file: path,
        cause: e,
      });
    }
    let doc: unknown;
    try {
      doc = parseYaml(text);
    } catch (e) {
      throw new RuntimeError(
        'SLUICE_ERR_IMAGE_TABLE',
        `Image table ${path} is not valid YAML or JSON: ${errorMessage(e)}`,
        { file: path, cause: e },
      );
    }
    return new ImageTable(parseEntries(doc, path), { dir: dirname(resolvePath(path)) });
  }

  entries(): ImageEntry[] {
    return [...this.#rows.values()].map((r) => r.entry);
  }

  lookup(image: string): ImageEntry | undefined {
    return this.#rows.get(parseImageRef(image).repository)?.entry;
  }

  /**
   * Decide what to run for a container, with Kubernetes' rules: `command` replaces the image's ENTRYPOINT and
   * `args` its CMD. An unknown image with no `command` cannot run.
   */
  resolve(c: ContainerSpec): ResolveResult {
    const ref = c.image ? parseImageRef(c.image) : undefined;
    const row = ref ? this.#rows.get(ref.repository) : undefined;
    const vars: Record<string, string> = {
      node: process.execPath,
      samples: SAMPLES_DIR,
      dir: row?.dir ?? process.cwd(),
      tag: ref?.tag ?? 'latest',
    };
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(row?.entry.env ?? {})) env[k] = substitute(v, vars);
    for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
    const workingDir = c.workingDir ?? (row?.entry.workingDir ? substitute(row.entry.workingDir, vars) : undefined);
    const base = { env, ...(workingDir !== undefined ? { workingDir } : {}) };
    if (c.command && c.command.length > 0) {
      return {
        ok: true,
        command: {
          ...base,
          argv: [...c.command, ...(c.args ?? [])],
          watchesParent: false,
          origin: 'container-command',
        },
      };
    }
    if (!row) {
      const what = c.image ? `image "${c.image}"` : 'a container without an image';
      return {
        ok: false,
        reason: 'ContainerMissing',
        message: `Unable to fetch image "${c.image ?? ''}": Sluice runs images as local programs and knows no command for ${what}. Add the image to the image table file, or set the container's command.`,
      };
    }
    const argv = [...row.entry.command, ...(c.args ?? row.entry.args ?? [])].map((a) => substitute(a, vars));
    return { ok: true, command: { ...base, argv, watchesParent: row.builtin, origin: 'image-table' } };
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringList(v: unknown, where: string, file: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  throw new RuntimeError('SLUICE_ERR_IMAGE_TABLE', `${where} must be a list of strings`, { file, path: where });
}

function parseEntry(raw: unknown, where: string, file: string, image?: string): ImageEntry {
  if (!isRecord(raw))
    throw new RuntimeError('SLUICE_ERR_IMAGE_TABLE', `${where} must be an object with image and command`, {
      file,
      path: where,
    });
  const img = image ?? raw['image'];
  if (typeof img !== 'string' || img === '')
    throw new RuntimeError('SLUICE_ERR_IMAGE_TABLE', `${where}.image must be a non-empty string`, {
      file,
      path: `${where}.image`,
    });
  const command = stringList(raw['command'], `${where}.command`, file);
  if (!command || command.length === 0)
    throw new RuntimeError('SLUICE_ERR_IMAGE_TABLE', `${where}.command must name a program to run for ${img}`, {
      file,
      path: `${where}.command`,
    });
  const entry: ImageEntry = { image: img, command };
  const args = stringList(raw['args'], `${where}.args`, file);
  if (args) entry.args = args;
  const env = raw['env'];
  if (env !== undefined) {
    if (!isRecord(env))
      throw new RuntimeError('SLUICE_ERR_IMAGE_TABLE', `${where}.env must be a map of names to values`, {
        file,
        path: `${where}.env`,
      });
    entry.env = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
  }
  if (typeof raw['workingDir'] === 'string') entry.workingDir = raw['workingDir'];
  if (typeof raw['description'] === 'string') entry.description = raw['description'];
  return entry;
}

function parseEntries(doc: unknown, file: string): ImageEntry[] {
  if (doc === null || doc === undefined) return [];
  if (Array.isArray(doc)) return doc.map((r, i) => parseEntry(r, `[${i}]`, file));
  if (isRecord(doc) && Array.isArray(doc['images']))
    return doc['images'].map((r, i) => parseEntry(r, `images[${i}]`, file));
  if (isRecord(doc)) return Object.entries(doc).map(([img, r]) => parseEntry(r, img, file, img));
  throw new RuntimeError(
    'SLUICE_ERR_IMAGE_TABLE',
    `Image table ${file} must be a list of entries or a map of image to entry`,
    { file },
  );
}
