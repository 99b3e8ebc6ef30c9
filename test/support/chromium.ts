// A real headless Chromium for browser tests: Debian's `chromium` (installed with apt-get when missing, as
// Prometheus is), driven by playwright-core over CDP, with a fresh profile directory per launch.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Installs a Debian package when `path` is missing (root only, as on CI); throws with what to do otherwise. */
export function ensureDebian(path: string, pkg: string): string {
  if (existsSync(path)) return path;
  if (process.getuid?.() !== 0)
    throw new Error(`no ${path}: install the Debian package \`${pkg}\` (apt-get install ${pkg})`);
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', pkg]]) {
    const r = spawnSync('apt-get', args, {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed (exit ${r.status})`);
  }
  if (!existsSync(path)) throw new Error(`apt-get installed ${pkg} but ${path} is missing`);
  return path;
}

export function ensureChromium(): string {
  return ensureDebian(CHROMIUM, 'chromium');
}

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** A fresh browser (new --user-data-dir) with `colorScheme`/`reducedMotion` as given. */
export async function launchChromium(
  o: { colorScheme?: 'light' | 'dark'; reducedMotion?: 'reduce' | 'no-preference' } = {},
): Promise<Browser> {
  const exe = ensureChromium();
  const profile = await mkdtemp(join(tmpdir(), 'sluice-chromium-'));
  // launchPersistentContext passes `--user-data-dir=<profile>` itself (playwright refuses it in `args`).
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: exe,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1280, height: 900 },
    ...(o.colorScheme ? { colorScheme: o.colorScheme } : {}),
    ...(o.reducedMotion ? { reducedMotion: o.reducedMotion } : {}),
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}
