// A real Alertmanager for integration tests and benchmarks: installed from Debian (`prometheus-alertmanager`) if
// missing, started on a free loopback port with a temp storage path, clustering off, and a minimal config whose
// default receiver is either nothing or a webhook (to observe Alertmanager's own firing/resolved notifications).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './prometheus.js';

export interface AlertmanagerHandle {
  url: string;
  port: number;
  dataDir: string;
  running(): boolean;
  stop(): Promise<void>;
}

export interface AlertmanagerStartOptions {
  /** When set, the default receiver posts notifications here (with send_resolved). */
  webhookUrl?: string;
  /** Route timings; short by default so tests see notifications quickly. */
  groupWait?: string;
  groupInterval?: string;
  readyTimeoutMs?: number;
}

function onPath(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p !== '' ? p : null;
}

function findBinary(): string | null {
  return (
    onPath('prometheus-alertmanager') ??
    onPath('alertmanager') ??
    (existsSync('/usr/bin/prometheus-alertmanager') ? '/usr/bin/prometheus-alertmanager' : null)
  );
}

/** The alertmanager binary; installs the Debian package when it is not on PATH (needs root). */
export function ensureAlertmanagerBinary(): string {
  const found = findBinary();
  if (found) return found;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', 'prometheus-alertmanager'], { stdio: 'inherit', env });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    r = spawnSync('apt-get', ['install', '-y', 'prometheus-alertmanager'], { stdio: 'inherit', env });
  }
  const after = findBinary();
  if (!after)
    throw new Error(
      'alertmanager is not installed and `apt-get install -y prometheus-alertmanager` failed; install it and retry',
    );
  return after;
}

export async function startAlertmanager(opts: AlertmanagerStartOptions = {}): Promise<AlertmanagerHandle> {
  const bin = ensureAlertmanagerBinary();
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-am-'));
  const port = await freePort();
  const receiver = opts.webhookUrl
    ? [
        '  - name: default',
        '    webhook_configs:',
        `      - url: ${JSON.stringify(opts.webhookUrl)}`,
        '        send_resolved: true',
      ]
    : ['  - name: default'];
  const config = [
    'route:',
    '  receiver: default',
    "  group_by: ['alertname', 'namespace', 'service']",
    `  group_wait: ${opts.groupWait ?? '100ms'}`,
    `  group_interval: ${opts.groupInterval ?? '500ms'}`,
    '  repeat_interval: 1h',
    'receivers:',
    ...receiver,
    '',
  ].join('\n');
  const configFile = join(dataDir, 'alertmanager.yml');
  writeFileSync(configFile, config);
  const child: ChildProcess = spawn(
    bin,
    [
      `--config.file=${configFile}`,
      `--storage.path=${join(dataDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const handle: AlertmanagerHandle = {
    url,
    port,
    dataDir,
    running: () => !exited,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exit;
        clearTimeout(killer);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor(
      'Alertmanager /-/ready',
      async () => {
        if (exited) throw new Error(`alertmanager exited: ${stderr}`);
        const r = await fetch(`${url}/-/ready`);
        return r.ok;
      },
      opts.readyTimeoutMs ?? 30_000,
      50,
    );
  } catch (e) {
    await handle.stop();
    throw e;
  }
  return handle;
}
