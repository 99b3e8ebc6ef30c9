// The Git side of GitOps: one working clone per source, fetched with simple-git. It clones a local path,
// `file://`, https or ssh URL, follows a branch (or a tag, full ref or commit), keeps to a path filter, and
// answers "which commit, which manifest files changed, which are present". Credentials never touch the disk
// or a log line: userinfo in an https URL is lifted out of the URL and handed to git through GIT_ASKPASS
// (a script that only echoes environment variables of the git child), ssh keys go through GIT_SSH_COMMAND,
// and every git error is scrubbed before it leaves this file.
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { redactUrl } from '../observability/logger.js';
import { errorMessage } from '../util/errors.js';
import { GitOpsError, GitOpsErrorCode, scrub } from './errors.js';

/** What git needs to authenticate. `password` is a password or a token (GitHub/GitLab/Gitea PAT). */
export interface GitCredentials {
  /** Default `x-access-token` when only a password/token is given (GitHub, Gitea and GitLab accept any user with a token). */
  username?: string;
  password?: string;
  /** A private key file for ssh URLs. */
  sshKeyFile?: string;
  /** A known_hosts file; with it host keys are checked strictly, without it ssh's defaults apply. */
  knownHostsFile?: string;
}

/** Called before every fetch and push, so rotated tokens are picked up. `url` is the redacted URL. */
export type CredentialResolver = (url: string) => GitCredentials | undefined | Promise<GitCredentials | undefined>;

/**
 * Credentials from the environment: `SLUICE_GIT_USERNAME`, `SLUICE_GIT_TOKEN` (or `SLUICE_GIT_PASSWORD`),
 * `SLUICE_GIT_SSH_KEY_FILE`, `SLUICE_GIT_KNOWN_HOSTS_FILE`. Undefined when none is set.
 */
export function credentialsFromEnv(env: NodeJS.ProcessEnv): GitCredentials | undefined {
  const c: GitCredentials = {};
  if (env.SLUICE_GIT_USERNAME) c.username = env.SLUICE_GIT_USERNAME;
  const pw = env.SLUICE_GIT_TOKEN ?? env.SLUICE_GIT_PASSWORD;
  if (pw) c.password = pw;
  if (env.SLUICE_GIT_SSH_KEY_FILE) c.sshKeyFile = env.SLUICE_GIT_SSH_KEY_FILE;
  if (env.SLUICE_GIT_KNOWN_HOSTS_FILE) c.knownHostsFile = env.SLUICE_GIT_KNOWN_HOSTS_FILE;
  return Object.keys(c).length > 0 ? c : undefined;
}

export interface GitSourceOptions {
  /** A local path, `file://`, `https://[user:token@]host/...`, `ssh://...` or `git@host:org/repo.git`. */
  repo: string;
  /** The branch to follow. Default: the remote's HEAD (its default branch). */
  branch?: string;
  /** Instead of a branch: a tag name, a full ref (`refs/...`) or a 40-hex commit. Revert needs a branch. */
  ref?: string;
  /** Only manifests under this directory of the repository count (`--path DIR`). Default: the whole repository. */
  path?: string;
  /** Where the working clone lives (created if missing, reused across restarts). */
  workDir: string;
  credentials?: CredentialResolver;
  /** The environment git runs with (PATH, HOME, proxies, ssh agent); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** A git command is killed when it prints nothing for this long. Default 60 s (Flux's Git timeout). */
  timeoutMs?: number;
  /** Committer of revert commits. */
  committer?: { name: string; email: string };
}

export interface ManifestFile {
  /** Path relative to the repository root, e.g. `apps/web.yaml`; this is how positions are reported. */
  file: string;
  text: string;
}

export interface FetchResult {
  /** The commit now checked out. */
  commit: string;
  /** The commit passed as `previous`, if any. */
  previous: string | undefined;
  /** Manifest files under the path that differ between `previous` and `commit` (all present ones without `previous`). */
  changed: string[];
  /** Every manifest file under the path at `commit`, sorted. */
  present: string[];
  /** Their contents, read at `commit`. */
  files: ManifestFile[];
}

const MANIFEST = /\.ya?ml$/i;
const SHA = /^[0-9a-f]{40}$/i;
const ENV_PASSTHROUGH = [
  'PATH',
  'HOME',
  'TMPDIR',
  'LANG',
  'LC_ALL',
  'SSH_AUTH_SOCK',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'SYSTEMROOT',
  'USERPROFILE',
];
// Echoes what git asks for from the git child's own environment; the script itself holds no secret.
const ASKPASS_SCRIPT =
  '#!/bin/sh\ncase "$1" in\n  Username*|username*) printf \'%s\\n\' "$SLUICE_GIT_ASKPASS_USERNAME" ;;\n  *) printf \'%s\\n\' "$SLUICE_GIT_ASKPASS_PASSWORD" ;;\nesac\n';

function isUrl(repo: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(repo);
}

function isScpLike(repo: string): boolean {
  return !isUrl(repo) && /^[^/\s]+@[^:/\s]+:/.test(repo);
}

/** `https://user:token@host/x` → the URL without userinfo plus the credentials; other URLs unchanged. */
export function splitUrlCredentials(repo: string): { url: string; username?: string; password?: string } {
  if (!/^https?:\/\//i.test(repo)) return { url: repo };
  let u: URL;
  try {
    u = new URL(repo);
  } catch {
    return { url: repo };
  }
  if (!u.username && !u.password) return { url: repo };
  const out: { url: string; username?: string; password?: string } = { url: '' };
  if (u.username) out.username = decodeURIComponent(u.username);
  if (u.password) out.password = decodeURIComponent(u.password);
  u.username = '';
  u.password = '';
  out.url = u.toString();
  return out;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `./apps/` → `apps`; `.` and `` → `` (the whole repository). */
export function normalizePath(p: string | undefined): string {
  let s = (p ?? '').trim().replace(/\\/g, '/');
  while (s.startsWith('./')) s = s.slice(2);
  s = s.replace(/^\/+/, '').replace(/\/+$/, '');
  return s === '.' ? '' : s;
}

export class GitSource {
  /** The working clone. */
  readonly dir: string;
  /** The repository as it may be logged: no credentials. */
  readonly displayUrl: string;
  readonly path: string;
  readonly ref: string | undefined;
  #url: string;
  #urlCreds: { username?: string; password?: string };
  #branch: string | undefined;
  #o: GitSourceOptions;
  #secrets = new Set<string>();
  #lock: Promise<unknown> = Promise.resolve();
  #askpass: string;
  #remoteSet = false;

  constructor(o: GitSourceOptions) {
    this.#o = o;
    const repo = isUrl(o.repo) || isScpLike(o.repo) ? o.repo : resolve(o.repo);
    const split = splitUrlCredentials(repo);
    this.#url = split.url;
    this.#urlCreds = {};
    if (split.username !== undefined) this.#urlCreds.username = split.username;
    if (split.password !== undefined) {
      this.#urlCreds.password = split.password;
      this.#secrets.add(split.password);
    }
    this.displayUrl = redactUrl(repo);
    this.#branch = o.branch;
    this.ref = o.ref;
    this.path = normalizePath(o.path);
    this.dir = join(o.workDir, 'checkout');
    this.#askpass = join(o.workDir, 'askpass.sh');
  }

  /** The branch followed; undefined until the remote's default branch is known (or when following a ref). */
  get branch(): string | undefined {
    return this.#branch;
  }

  /** Every secret seen so far, for scrubbing messages built elsewhere. */
  secrets(): string[] {
    return [...this.#secrets];
  }

  /** Scrubs credentials from any text. */
  scrub(text: string): string {
    return scrub(text, this.secrets());
  }

  /** Runs `fn` with no other operation on the clone in between (fetch, read, revert). */
  locked<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#lock.then(fn, fn);
    this.#lock = next.catch(() => undefined);
    return next;
  }

  async #git(baseDir: string): Promise<SimpleGit> {
    const creds: GitCredentials = { ...this.#urlCreds, ...((await this.#o.credentials?.(this.displayUrl)) ?? {}) };
    const src = this.#o.env ?? process.env;
    const env: Record<string, string> = { GIT_TERMINAL_PROMPT: '0' };
    for (const k of ENV_PASSTHROUGH) {
      const v = src[k];
      if (v !== undefined) env[k] = v;
    }
    if (creds.password) {
      this.#secrets.add(creds.password);
      await this.#writeAskpass();
      env.GIT_ASKPASS = this.#askpass;
      env.SLUICE_GIT_ASKPASS_USERNAME = creds.username ?? 'x-access-token';
      env.SLUICE_GIT_ASKPASS_PASSWORD = creds.password;
    }
    const ssh = ['ssh', '-o', 'BatchMode=yes'];
    if (creds.sshKeyFile) ssh.push('-i', shellQuote(creds.sshKeyFile), '-o', 'IdentitiesOnly=yes');
    if (creds.knownHostsFile)
      ssh.push('-o', `UserKnownHostsFile=${shellQuote(creds.knownHostsFile)}`, '-o', 'StrictHostKeyChecking=yes');
    env.GIT_SSH_COMMAND = ssh.join(' ');
    const committer = this.#o.committer ?? { name: 'Sluice', email: 'sluice@localhost' };
    return simpleGit({
      baseDir,
      binary: 'git',
      maxConcurrentProcesses: 2,
      config: [
        `user.name=${committer.name}`,
        `user.email=${committer.email}`,
        'advice.detachedHead=false',
        'init.defaultBranch=main',
      ],
      timeout: { block: this.#o.timeoutMs ?? 60_000 },
      // We set GIT_ASKPASS and GIT_SSH_COMMAND ourselves, from values above; nothing user-controlled reaches argv.
      unsafe: { allowUnsafeAskPass: true, allowUnsafeSshCommand: true },
    }).env(env);
  }

  async #writeAskpass(): Promise<void> {
    await mkdir(this.#o.workDir, { recursive: true });
    try {
      if ((await readFile(this.#askpass, 'utf8')) === ASKPASS_SCRIPT) return;
    } catch {
      /* first use */
    }
    await writeFile(this.#askpass, ASKPASS_SCRIPT, { mode: 0o700 });
    await chmod(this.#askpass, 0o700);
  }

  /** Wraps a git failure into a scrubbed GitOpsError (no cause: simple-git's error carries the raw text). */
  #fail(what: string, e: unknown): GitOpsError {
    if (e instanceof GitOpsError) return e;
    const msg = errorMessage(e)
      .trim()
      .split('\n')
      .filter((l) => l.trim() !== '')
      .slice(0, 4)
      .join('; ');
    return new GitOpsError(GitOpsErrorCode.GitFailed, this.scrub(`${what} ${this.displayUrl}: ${msg}`));
  }

  async #ensureClone(): Promise<SimpleGit> {
    await mkdir(this.dir, { recursive: true });
    const git = await this.#git(this.dir);
    const fresh = !(await stat(join(this.dir, '.git')).then(
      () => true,
      () => false,
    ));
    try {
      if (fresh) {
        await git.raw(['init', '-q']);
        await git.raw(['remote', 'add', 'origin', this.#url]);
      } else if (!this.#remoteSet) {
        await git.raw(['remote', 'set-url', 'origin', this.#url]);
      }
      this.#remoteSet = true;
    } catch (e) {
      if (fresh) await rm(join(this.dir, '.git'), { recursive: true, force: true });
      throw this.#fail('cannot prepare the working clone of', e);
    }
    return git;
  }

  async #resolveBranch(git: SimpleGit): Promise<string> {
    if (this.#branch) return this.#branch;
    let out: string;
    try {
      out = await git.raw(['ls-remote', '--symref', 'origin', 'HEAD']);
    } catch (e) {
      throw this.#fail('cannot read the default branch of', e);
    }
    const m = /^ref:\s+refs\/heads\/(\S+)\s+HEAD/m.exec(out);
    this.#branch = m?.[1] ?? 'main';
    return this.#branch;
  }

  /** The refspec fetched and the local ref it lands in. */
  async #target(git: SimpleGit): Promise<{ src: string; dst: string; branch?: string }> {
    if (this.ref) {
      const src = SHA.test(this.ref) ? this.ref : this.ref.startsWith('refs/') ? this.ref : `refs/tags/${this.ref}`;
      return { src, dst: 'refs/sluice/target' };
    }
    const branch = await this.#resolveBranch(git);
    return { src: `refs/heads/${branch}`, dst: `refs/remotes/origin/${branch}`, branch };
  }

  async #fetchAndCheckout(git: SimpleGit): Promise<string> {
    const t = await this.#target(git);
    try {
      // -v (and no -q below): simple-git waits ~50 ms more for commands that print nothing.
      await git.raw(['fetch', '-v', '--no-tags', '--force', 'origin', `+${t.src}:${t.dst}`]);
    } catch (e) {
      throw this.#fail(`cannot fetch ${t.branch ? `branch ${t.branch}` : (this.ref ?? '')} from`, e);
    }
    try {
      const commit = (await git.raw(['rev-parse', `${t.dst}^{commit}`])).trim();
      if (t.branch) await git.raw(['checkout', '-f', '-B', t.branch, t.dst]);
      else await git.raw(['checkout', '-f', '--detach', commit]);
      return commit;
    } catch (e) {
      throw this.#fail('cannot check out the fetched commit of', e);
    }
  }

  async #listManifests(git: SimpleGit, commit: string): Promise<string[]> {
    const args = ['ls-tree', '-r', '--name-only', '-z', commit];
    if (this.path) args.push('--', this.path);
    const out = await git.raw(args);
    return out
      .split('\0')
      .filter((f) => f !== '' && MANIFEST.test(f))
      .sort();
  }

  async #hasCommit(git: SimpleGit, commit: string): Promise<boolean> {
    try {
      return (await git.raw(['cat-file', '-t', `${commit}^{commit}`])).trim() === 'commit';
    } catch {
      return false;
    }
  }

  /**
   * Clones if needed, fetches, checks out the branch's (or ref's) newest commit and reads the manifests
   * under the path. `previous` (the last synced commit) decides `changed`. Throws a scrubbed GitOpsError
   * (code SLUICE_ERR_GIT_FAILED) when Git cannot be reached; the clone keeps its last checkout then.
   */
  fetch(previous?: string): Promise<FetchResult> {
    return this.locked(async () => {
      const git = await this.#ensureClone();
      const commit = await this.#fetchAndCheckout(git);
      try {
        const present = await this.#listManifests(git, commit);
        let changed = present;
        if (previous && previous !== commit && (await this.#hasCommit(git, previous))) {
          const args = ['diff', '--name-only', '-z', previous, commit];
          if (this.path) args.push('--', this.path);
          changed = (await git.raw(args))
            .split('\0')
            .filter((f) => f !== '' && MANIFEST.test(f))
            .sort();
        } else if (previous === commit) {
          changed = [];
        }
        const files: ManifestFile[] = [];
        for (const file of present) files.push({ file, text: await readFile(join(this.dir, file), 'utf8') });
        return { commit, previous, changed, present, files };
      } catch (e) {
        throw this.#fail('cannot read the manifests of', e);
      }
    });
  }

  /** The manifests under the path as they were at `commit` (fetching first if the clone does not have it). */
  manifestsAt(commit: string): Promise<ManifestFile[]> {
    return this.locked(async () => {
      const git = await this.#ensureClone();
      if (!(await this.#hasCommit(git, commit))) await this.#fetchAndCheckout(git);
      if (!(await this.#hasCommit(git, commit))) {
        throw new GitOpsError(GitOpsErrorCode.NotFound, `commit ${commit} is not in ${this.displayUrl}; check the SHA`);
      }
      const out: ManifestFile[] = [];
      for (const file of await this.#listManifests(git, commit)) {
        out.push({ file, text: await git.raw(['show', `${commit}:${file}`]) });
      }
      return out;
    });
  }

  /**
   * Creates a commit on the branch that reverts `commit` and pushes it; returns the new commit's SHA.
   * A push that loses a race with another push is retried on the new tip (3 attempts). A revert that
   * conflicts with later commits is aborted and nothing is pushed (SLUICE_ERR_GIT_REVERT_CONFLICT).
   */
  revert(commit: string, o: { message?: string; author?: { name: string; email: string } } = {}): Promise<string> {
    return this.locked(async () => {
      if (this.ref)
        throw new GitOpsError(
          GitOpsErrorCode.GitFailed,
          `cannot revert on ${this.ref}: reverting needs a branch (--branch), not a tag or commit`,
        );
      const git = await this.#ensureClone();
      let lastPushError: unknown;
      for (let attempt = 1; attempt <= 3; attempt++) {
        await this.#fetchAndCheckout(git);
        if (!(await this.#hasCommit(git, commit))) {
          throw new GitOpsError(
            GitOpsErrorCode.NotFound,
            `commit ${commit} is not in ${this.displayUrl}; check the SHA`,
          );
        }
        try {
          await git.raw(['merge-base', '--is-ancestor', commit, 'HEAD']);
        } catch {
          throw new GitOpsError(
            GitOpsErrorCode.NotFound,
            `commit ${commit} is not on branch ${this.#branch ?? ''}; only commits of the followed branch can be reverted`,
          );
        }
        const full = (await git.raw(['rev-parse', `${commit}^{commit}`])).trim();
        const parents = (await git.raw(['rev-list', '--parents', '-n', '1', full])).trim().split(/\s+/).length - 1;
        const subject = (await git.raw(['log', '-1', '--format=%s', full])).trim();
        try {
          await git.raw(['revert', '--no-commit', ...(parents > 1 ? ['-m', '1'] : []), full]);
        } catch (e) {
          await git.raw(['revert', '--abort']).catch(() => undefined);
          await git.raw(['reset', '-q', '--hard', 'HEAD']).catch(() => undefined);
          throw new GitOpsError(
            GitOpsErrorCode.RevertConflict,
            this.scrub(
              `git revert ${full.slice(0, 12)} conflicts with later commits on ${this.#branch ?? ''}; resolve it by hand: ${errorMessage(e).split('\n')[0] ?? ''}`,
            ),
          );
        }
        const staged = await git.raw(['diff', '--cached', '--name-only']);
        if (staged.trim() === '') {
          await git.raw(['revert', '--abort']).catch(() => undefined);
          await git.raw(['reset', '-q', '--hard', 'HEAD']).catch(() => undefined);
          return (await git.raw(['rev-parse', 'HEAD'])).trim(); // already reverted: nothing to commit
        }
        const message = o.message ?? `Revert "${subject}"\n\nThis reverts commit ${full}.\n\nRolled back by Sluice.`;
        const args = ['commit', '-q', '-m', message];
        if (o.author) args.push('--author', `${o.author.name} <${o.author.email}>`);
        try {
          await git.raw(args);
        } catch (e) {
          await git.raw(['reset', '-q', '--hard', 'HEAD']).catch(() => undefined);
          throw this.#fail('cannot commit the revert in the clone of', e);
        }
        const sha = (await git.raw(['rev-parse', 'HEAD'])).trim();
        try {
          await git.raw(['push', '-q', 'origin', `HEAD:refs/heads/${this.#branch ?? ''}`]);
          await git.raw(['update-ref', `refs/remotes/origin/${this.#branch ?? ''}`, sha]);
          return sha;
        } catch (e) {
          lastPushError = e; // most likely someone pushed first: start again from the new tip
        }
      }
      throw this.#fail('cannot push the revert commit to', lastPushError);
    });
  }
}

/** True when `repo` names a directory on this machine rather than a URL. */
export function isLocalPath(repo: string): boolean {
  return !isUrl(repo) && !isScpLike(repo) && (isAbsolute(repo) || !repo.includes(':'));
}
