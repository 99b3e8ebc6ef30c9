// Helpers for tests and benchmarks of gitops: a real bare repository as the remote and a second clone that
// commits and pushes to it, as a developer would. Not used by the controller.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createHmac } from 'node:crypto';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { simpleGit, type SimpleGit } from 'simple-git';

export interface TestRemote {
  /** The bare repository (the "server"). */
  bare: string;
  /** The developer's clone. */
  work: string;
  git: SimpleGit;
  /** Writes (string) or deletes (null) files in the clone, commits them and pushes; returns the new commit. */
  commit(files: Record<string, string | null>, message?: string): Promise<string>;
}

const IDENTITY = [
  'user.name=Dev',
  'user.email=dev@example.com',
  'init.defaultBranch=main',
  'advice.detachedHead=false',
];

export async function createTestRemote(dir: string, branch = 'main'): Promise<TestRemote> {
  const bare = join(dir, 'remote.git');
  const work = join(dir, 'dev');
  await mkdir(bare, { recursive: true });
  await simpleGit({ baseDir: bare, config: IDENTITY }).raw(['init', '-q', '--bare', '-b', branch]);
  await mkdir(work, { recursive: true });
  const git = simpleGit({ baseDir: work, config: IDENTITY });
  await git.raw(['init', '-q', '-b', branch]);
  await git.raw(['remote', 'add', 'origin', bare]);
  let n = 0;
  return {
    bare,
    work,
    git,
    async commit(files, message) {
      for (const [f, text] of Object.entries(files)) {
        const p = join(work, f);
        if (text === null) await rm(p, { force: true });
        else {
          await mkdir(dirname(p), { recursive: true });
          await writeFile(p, text);
        }
      }
      await git.raw(['add', '-A']);
      await git.raw(['commit', '-q', '--allow-empty', '-m', message ?? `change ${++n}`]);
      await git.raw(['push', '-q', 'origin', `HEAD:refs/heads/${branch}`]);
      return (await git.raw(['rev-parse', 'HEAD'])).trim();
    },
  };
}

/** A pino destination that keeps every line, for checking what was logged. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    for (const l of chunk.toString().split('\n')) if (l.trim() !== '') this.lines.push(l);
    cb();
  }
  text(): string {
    return this.lines.join('\n');
  }
}

/** `sha256=<hex>`: what GitHub and Gitea send in X-Hub-Signature-256. */
export function hubSignature(body: string | Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** A minimal GitHub push payload. */
export function pushPayload(branch: string, after: string): string {
  return JSON.stringify({ ref: `refs/heads/${branch}`, after, repository: { full_name: 'org/app' } });
}

export function serviceYaml(name: string, image: string, extra = ''): string {
  return `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: ${name}
spec:
  template:
    spec:
      containers:
        - image: ${image}
${extra}`;
}

export function configMapYaml(name: string, data: Record<string, string>): string {
  return `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
data:
${Object.entries(data)
  .map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`)
  .join('\n')}
`;
}
