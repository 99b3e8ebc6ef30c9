// Traffic resolution (pkg/reconciler/route/traffic/traffic.go): a Route's spec.traffic, resolved against
// the Configurations and Revisions that exist, becomes per-tag splits for the router and status.traffic.

import { LABEL_CONFIGURATION, LABEL_SERVICE } from './keys.js';
import { rolloutsByTag, sortRollout } from './rollout.js';
import { isTargetFailure, type TargetError } from './target-errors.js';
import type { Configuration, Revision, Rollout, Route, TrafficTarget } from './types.js';

/** The main host's traffic name. */
export const DEFAULT_TARGET = '';

export type Protocol = 'http1' | 'h2c';

/** A target resolved to a concrete, ready Revision. `percent` and `latestRevision` are always set. */
export interface RevisionTarget {
  tag?: string;
  revisionName: string;
  configurationName?: string;
  latestRevision: boolean;
  percent: number;
  protocol: Protocol;
}

export interface TrafficConfig {
  /** Traffic name ("" and each tag) → consolidated targets; a tag's only target carries 100%. */
  targets: Map<string, RevisionTarget[]>;
  /** Spec targets resolved, equal (tag, revision, latest) ones merged, in spec order: the basis of status. */
  revisionTargets: RevisionTarget[];
  /** Objects the Route depends on, for watches. */
  configurations: Map<string, Configuration>;
  revisions: Map<string, Revision>;
  missingTargets: { kind: 'Revision' | 'Configuration'; name: string }[];
}

export interface TrafficResult {
  config: TrafficConfig;
  /** The most severe target error (a failure beats a wait); targets are empty when set. */
  error?: TargetError;
}

const readyStatus = (obj: {
  metadata?: { generation?: number };
  status?: { observedGeneration?: number; conditions?: { type: string; status: string }[] };
}): 'True' | 'False' | 'Unknown' => {
  const c = obj.status?.conditions?.find((x) => x.type === 'Ready');
  return (c?.status as 'True' | 'False' | 'Unknown' | undefined) ?? 'Unknown';
};

/** Ready means Ready=True for the current generation. */
export function isRevisionReady(rev: Revision): boolean {
  return (rev.status?.observedGeneration ?? 0) === (rev.metadata?.generation ?? 0) && readyStatus(rev) === 'True';
}

/** A Revision whose serving port is named h2c speaks HTTP/2 cleartext. */
export function revisionProtocol(rev: Revision): Protocol {
  for (const c of rev.spec?.containers ?? []) {
    const name = c.ports?.[0]?.name;
    if (name) return name === 'h2c' ? 'h2c' : 'http1';
  }
  return 'http1';
}

type Lookup<T> = { found: T } | { error: TargetError };

/**
 * Resolves every spec target. Target errors are deferred so that every referenced object is still
 * collected (the reconciler watches them all); the first failure, else the first wait, is returned.
 */
export function buildTrafficConfiguration(
  route: Route,
  configurations: readonly Configuration[],
  revisions: readonly Revision[],
): TrafficResult {
  const cfgByName = new Map(configurations.map((c) => [c.metadata?.name ?? '', c]));
  const revByName = new Map(revisions.map((r) => [r.metadata?.name ?? '', r]));
  const config: TrafficConfig = {
    targets: new Map(),
    revisionTargets: [],
    configurations: new Map(),
    revisions: new Map(),
    missingTargets: [],
  };
  let deferred: TargetError | undefined;
  const defer = (e: TargetError): void => {
    if (e.kind === 'missing') config.missingTargets.push({ kind: e.targetKind, name: e.name });
    if (!deferred || isTargetFailure(e)) deferred = e;
  };
  const getConfiguration = (name: string): Lookup<Configuration> => {
    const c = cfgByName.get(name);
    if (!c) return { error: { kind: 'missing', targetKind: 'Configuration', name } };
    config.configurations.set(name, c);
    return { found: c };
  };
  const getRevision = (name: string): Lookup<Revision> => {
    const r = revByName.get(name);
    if (!r) return { error: { kind: 'missing', targetKind: 'Revision', name } };
    config.revisions.set(name, r);
    return { found: r };
  };
  const addFlattened = (t: RevisionTarget): void => {
    const same = config.revisionTargets.find(
      (x) =>
        (x.tag ?? '') === (t.tag ?? '') && x.revisionName === t.revisionName && x.latestRevision === t.latestRevision,
    );
    if (same) same.percent += t.percent;
    else config.revisionTargets.push({ ...t });
    const push = (name: string): void => {
      config.targets.set(name, [...(config.targets.get(name) ?? []), { ...t }]);
    };
    push(DEFAULT_TARGET);
    if (t.tag) push(t.tag);
  };
  const base = (tt: TrafficTarget): Omit<RevisionTarget, 'revisionName' | 'protocol'> => {
    const b: Omit<RevisionTarget, 'revisionName' | 'protocol'> = {
      latestRevision: tt.latestRevision ?? (tt.revisionName ?? '') === '',
      percent: tt.percent ?? 0,
    };
    if (tt.tag) b.tag = tt.tag;
    if (tt.configurationName) b.configurationName = tt.configurationName;
    return b;
  };

  const routeService = route.metadata?.labels?.[LABEL_SERVICE] ?? '';
  for (const tt of route.spec?.traffic ?? []) {
    if (tt.revisionName) {
      const r = getRevision(tt.revisionName);
      if ('error' in r) {
        defer(r.error);
        continue;
      }
      const rev = r.found;
      if (routeService !== '') {
        const revService = rev.metadata?.labels?.[LABEL_SERVICE] ?? '';
        if (revService !== routeService) {
          defer({
            kind: 'revisionNotOwned',
            revisionName: tt.revisionName,
            expectedService: routeService,
            actualService: revService,
          });
          continue;
        }
      }
      if (!isRevisionReady(rev)) {
        defer({ kind: 'unreadyRevision', name: rev.metadata?.name ?? '', isFailure: readyStatus(rev) === 'False' });
        continue;
      }
      const target: RevisionTarget = { ...base(tt), revisionName: tt.revisionName, protocol: revisionProtocol(rev) };
      const cfgName = rev.metadata?.labels?.[LABEL_CONFIGURATION];
      if (cfgName !== undefined) {
        target.configurationName = cfgName;
        const c = getConfiguration(cfgName);
        if ('error' in c) {
          defer(c.error);
          continue;
        }
      }
      addFlattened(target);
    } else if (tt.configurationName) {
      const c = getConfiguration(tt.configurationName);
      if ('error' in c) {
        defer(c.error);
        continue;
      }
      const latestReady = c.found.status?.latestReadyRevisionName ?? '';
      if (latestReady === '') {
        defer({
          kind: 'unreadyConfiguration',
          name: tt.configurationName,
          isFailure: readyStatus(c.found) === 'False',
        });
        continue;
      }
      const r = getRevision(latestReady);
      if ('error' in r) {
        defer(r.error);
        continue;
      }
      if (!isRevisionReady(r.found)) {
        defer({ kind: 'unreadyRevision', name: latestReady, isFailure: readyStatus(r.found) === 'False' });
        continue;
      }
      addFlattened({ ...base(tt), revisionName: latestReady, protocol: revisionProtocol(r.found) });
    }
  }
  if (deferred) {
    config.targets = new Map();
    config.revisionTargets = [];
    return { config, error: deferred };
  }
  for (const [name, tts] of config.targets) config.targets.set(name, consolidate(tts));
  return { config };
}

/** Sums targets of the same revision; a lone target gets 100% (a tag's host serves only that revision). */
function consolidate(targets: readonly RevisionTarget[]): RevisionTarget[] {
  const byName = new Map<string, RevisionTarget>();
  for (const t of targets) {
    const cur = byName.get(t.revisionName);
    if (cur) cur.percent += t.percent;
    else byName.set(t.revisionName, { ...t });
  }
  const out = [...byName.values()];
  if (out.length === 1 && out[0]) out[0].percent = 100;
  return out;
}

/** The rollout the spec asks for right now: each non-zero latestRevision target at its latest revision. */
export function buildRollout(config: TrafficConfig): Rollout {
  const cfgs = [...config.targets.entries()].flatMap(([tag, tts]) =>
    tts
      .filter((t) => t.latestRevision && t.percent !== 0)
      .map((t) => {
        const c = {
          configurationName: t.configurationName ?? '',
          percent: t.percent,
          revisions: [{ revisionName: t.revisionName, percent: t.percent }],
          stepParams: {},
        };
        return tag ? { ...c, tag } : c;
      }),
  );
  return sortRollout({ configurations: cfgs });
}

/**
 * status.traffic: one entry per merged spec target, except that a latestRevision target under an
 * in-progress rollout expands into one entry per rolling revision (oldest first).
 * `urlForTag` gives a tagged entry's URL.
 */
export function statusTraffic(
  config: TrafficConfig,
  rollout: Rollout | undefined,
  urlForTag: (tag: string) => string,
): TrafficTarget[] {
  const out: TrafficTarget[] = [];
  for (const tt of config.revisionTargets) {
    const tag = tt.tag ?? '';
    const ro = tt.latestRevision
      ? rolloutsByTag(rollout, tag).find((c) => c.configurationName === (tt.configurationName ?? ''))
      : undefined;
    const revs = ro ? (ro.revisions ?? []) : [{ revisionName: tt.revisionName, percent: tt.percent }];
    const url = tag ? urlForTag(tag) : undefined;
    for (const r of revs) {
      const entry: TrafficTarget = {};
      if (tag) entry.tag = tag;
      entry.revisionName = r.revisionName;
      entry.percent = r.percent;
      entry.latestRevision = tt.latestRevision;
      if (url !== undefined) entry.url = url;
      out.push(entry);
    }
  }
  return out;
}

export interface IngressSplit {
  revisionName: string;
  percent: number;
  protocol: Protocol;
}

/**
 * What the router serves per traffic name: zero-percent targets are dropped and a rolling
 * latestRevision target is replaced by its rollout's revisions.
 */
export function ingressSplits(config: TrafficConfig, rollout: Rollout | undefined): Map<string, IngressSplit[]> {
  const out = new Map<string, IngressSplit[]>();
  for (const [name, tts] of config.targets) {
    const ros = rolloutsByTag(rollout, name);
    const splits: IngressSplit[] = [];
    for (const t of tts) {
      if (t.percent === 0) continue;
      const ro = t.latestRevision ? ros.find((c) => c.configurationName >= (t.configurationName ?? '')) : undefined;
      if (!ro || (ro.revisions?.length ?? 0) < 2)
        splits.push({ revisionName: t.revisionName, percent: t.percent, protocol: t.protocol });
      else
        for (const r of ro.revisions ?? [])
          splits.push({ revisionName: r.revisionName, percent: r.percent, protocol: t.protocol });
    }
    out.set(name, splits);
  }
  return out;
}
