// What every kn-style command needs from the outside world, gathered in one place so commands stay
// testable: output streams, environment, working directory, clock and randomness (KnIo), the kubeconfig
// resolution (--kubeconfig, $KUBECONFIG, ./.sluice/kubeconfig) and kn's error printing.
import { existsSync } from 'node:fs';
import { delimiter, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { stringify } from 'yaml';
import { KubeClient, KubeApiError, R, apiVersionOf, type ResourceRef } from '../../kube/index.js';
import { errorMessage } from '../../util/errors.js';
import type { Clock } from '../../util/clock.js';
import { KnError } from './errors.js';

export interface KnIo {
  out(text: string): void;
  err(text: string): void;
  /** Environment variables (only $KUBECONFIG is read). */
  env: Record<string, string | undefined>;
  cwd: string;
  clock: Clock;
  /** 0 <= random() < 1; for {{.Random n}} in --revision-name. */
  random(): number;
  /** Called with 1 when a command fails. */
  setExitCode(code: number): void;
}

/** The real process: stdout, stderr, process.env, the system clock. Only cli/ reads the environment. */
export function processIo(): KnIo {
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
    clock: { now: () => Date.now() },
    random: Math.random,
    setExitCode: (c) => {
      process.exitCode = c;
    },
  };
}

export interface ConnectionOptions {
  kubeconfig?: string;
  namespace?: string;
}

/** --kubeconfig, else the first existing file in $KUBECONFIG, else ./.sluice/kubeconfig. */
export function resolveKubeconfig(flag: string | undefined, io: Pick<KnIo, 'env' | 'cwd'>): string {
  if (flag) return resolve(io.cwd, flag);
  const fromEnv = (io.env['KUBECONFIG'] ?? '').split(delimiter).filter((p) => p !== '');
  for (const p of fromEnv) if (existsSync(resolve(io.cwd, p))) return resolve(io.cwd, p);
  const local = resolve(io.cwd, '.sluice', 'kubeconfig');
  if (existsSync(local)) return local;
  if (fromEnv.length > 0) return resolve(io.cwd, fromEnv[0]!);
  throw new KnError(
    'SLUICE_ERR_KN_NO_KUBECONFIG',
    'no kubeconfig found: pass --kubeconfig PATH, set $KUBECONFIG, or run `sluice start` here (it writes ./.sluice/kubeconfig)',
  );
}

export interface Connection {
  client: KubeClient;
  /** The namespace to work in: -n, else the kubeconfig context's, else `default`. */
  namespace: string;
}

export function connect(o: ConnectionOptions, io: KnIo): Connection {
  const path = resolveKubeconfig(o.kubeconfig, io);
  if (!existsSync(path)) throw new KnError('SLUICE_ERR_KN_NO_KUBECONFIG', `kubeconfig ${path} does not exist`);
  const client = KubeClient.fromFile(path, 'kn');
  const ctx = client.config.getContextObject(client.config.getCurrentContext());
  return { client, namespace: o.namespace || ctx?.namespace || 'default' };
}

/** The full command path, e.g. `sluice service update`, for the usage hint. */
function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Runs a command's action and prints any failure as kn does: `Error: <message>` and a usage hint on
 * stderr, exit code 1. Nothing is thrown to commander.
 */
export async function runAction(io: KnIo, cmd: Command, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    const msg = e instanceof KubeApiError || e instanceof KnError ? e.message : errorMessage(e);
    io.err(`Error: ${msg.replace(/^error:\s*/i, '')}\nRun '${commandPath(cmd)} --help' for usage\n`);
    io.setExitCode(1);
  }
}

/** `-o yaml|json` output of one object or a list, with apiVersion and kind as kubectl prints them. */
export function printObject(io: KnIo, format: string, obj: unknown): void {
  if (format === 'json') io.out(JSON.stringify(obj, null, 4) + '\n');
  else if (format === 'yaml') io.out(stringify(obj));
  else
    throw new KnError(
      'SLUICE_ERR_KN_OUTPUT',
      `unable to match a printer suitable for the output format "${format}", allowed formats are: json,yaml`,
    );
}

export function withKind<T extends object>(r: ResourceRef, obj: T): T & { apiVersion: string; kind: string } {
  return { apiVersion: apiVersionOf(r), kind: r.kind, ...obj };
}

/** A kubectl-style List wrapping items, each with apiVersion and kind. */
export function asList(r: ResourceRef, items: object[]): Record<string, unknown> {
  return { apiVersion: apiVersionOf(r), kind: `${r.kind}List`, items: items.map((i) => withKind(r, i)), metadata: {} };
}

/** Collects repeated option values (`--env A=1 --env B=2`). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Parses an integer flag value the way pflag does, with its error text. */
export function intArg(flag: string): (v: string) => number {
  return (v: string) => {
    if (!/^[+-]?\d+$/.test(v))
      throw new InvalidArgumentError(
        `invalid argument "${v}" for "--${flag}" flag: strconv.ParseInt: parsing "${v}": invalid syntax`,
      );
    return Number.parseInt(v, 10);
  };
}

/** True when the option was given on the command line (kn's `cmd.Flags().Changed`). */
export function changed(cmd: Command, key: string): boolean {
  return cmd.getOptionValueSource(key) === 'cli';
}

export { R };
