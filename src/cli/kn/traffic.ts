// kn's traffic flags (--traffic, --tag, --untag) turned into a Service's spec.traffic, as a pure function.
// The semantics follow knative/client pkg/traffic/compute.go; messages are kn's words. One deliberate
// difference, taken from the seeds (what kn users see): a split that does not add up to 100 and cannot
// be completed automatically reports `given traffic percents sum to N, want 100`, as kn always did
// before it learned to give the remainder to the one revision left out.
import { KnError } from './errors.js';

export const LATEST_REF = '@latest';

/** A traffic target as it travels in spec.traffic (percent always set by this module). */
export interface Target {
  tag?: string;
  revisionName?: string;
  configurationName?: string;
  latestRevision?: boolean;
  percent?: number;
  url?: string;
}

export interface TrafficFlags {
  /** `--traffic` values, already split on commas: `REV=PCT`, `TAG=PCT`, `@latest=PCT` (or just `PCT`). */
  traffic: string[];
  /** `--tag` values: `REV=TAG`, `@latest=TAG` (or just `TAG`). */
  tags: string[];
  /** `--untag` values. */
  untag: string[];
}

export interface ComputeInput {
  serviceName: string;
  /** spec.traffic of the Service being edited. */
  specTraffic: Target[];
  /** status.traffic: what is routed now; used to find the revision that takes an unassigned remainder. */
  statusTraffic: Target[];
  latestReadyRevisionName?: string;
  /** The Service's revisions, with their `client.knative.dev/tags` annotation if any. */
  revisions: Array<{ name: string; tagsAnnotation?: string }>;
  flags: TrafficFlags;
  /** True when --traffic was given (kn: `cmd.Flags().Changed("traffic")`). */
  trafficChanged: boolean;
  /** True for `service create` (tags on create put 100% on @latest). */
  create?: boolean;
  /** True when the update also changes the template, so a new revision will become @latest. */
  mutation: boolean;
}

/** Splits `a=b`; a single value means `@latest=value`. A trailing `%` on the value is dropped. */
export function splitByEqualSign(pair: string): [string, string] {
  const parts = pair.split('=');
  if (parts.length === 1) return [LATEST_REF, parts[0]!];
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
    throw new KnError('SLUICE_ERR_KN_FLAG_FORMAT', `expecting the value format in value1=value2, given ${pair}`);
  }
  return [parts[0]!, parts[1]!.replace(/%$/, '')];
}

/** Splits repeated comma-separated flag values (kn's StringSlice flags). */
export function splitSlice(values: string[]): string[] {
  return values.flatMap((v) => v.split(',')).filter((v) => v !== '');
}

function newTarget(tag: string, revision: string, percent: number, latest: boolean): Target {
  const t: Target = { percent };
  if (tag) t.tag = tag;
  if (latest) t.latestRevision = true;
  else {
    t.latestRevision = false;
    t.revisionName = revision;
  }
  return t;
}

function repeating(flag: string, name: string): KnError {
  const what = name === LATEST_REF ? `identifier ${LATEST_REF}` : `revision reference ${name}`;
  return new KnError(
    'SLUICE_ERR_KN_TRAFFIC_REPEAT',
    `repetition of ${what} is not allowed, use only once with ${flag} flag`,
  );
}

function overwritingTag(tag: string): KnError {
  return new KnError(
    'SLUICE_ERR_KN_TAG_EXISTS',
    `refusing to overwrite existing tag in service, add flag '--untag ${tag}' in command to untag it`,
  );
}

function sumError(sum: number): KnError {
  return new KnError('SLUICE_ERR_KN_TRAFFIC_SUM', `given traffic percents sum to ${sum}, want 100`);
}

function parsePercent(s: string): number {
  if (!/^[+-]?\d+$/.test(s)) {
    throw new KnError(
      'SLUICE_ERR_KN_TRAFFIC_PERCENT',
      `error converting given ${s} to integer value for traffic distribution`,
    );
  }
  const n = Number.parseInt(s, 10);
  if (n < 0 || n > 100) {
    throw new KnError(
      'SLUICE_ERR_KN_TRAFFIC_PERCENT',
      `invalid value for traffic percent ${n}, expected 0 <= percent <= 100`,
    );
  }
  return n;
}

/**
 * Checks the flags and, when they sum to less than 100, returns the --traffic list completed with the
 * remainder (kn ≥ 1.0: leave out exactly one revision, or with a template change give the rest to
 * @latest). Throws KnError with kn's message otherwise.
 */
export function verifyTraffic(input: ComputeInput): string[] {
  const { flags } = input;
  let latestTagged = false;
  for (const each of flags.tags) {
    const [rev] = splitByEqualSign(each);
    if (rev === LATEST_REF) {
      if (latestTagged) throw repeating('--tag', LATEST_REF);
      latestTagged = true;
    }
  }
  const refs = new Set<string>();
  let sum = 0;
  for (const each of flags.traffic) {
    const [ref, pct] = splitByEqualSign(each);
    if (refs.has(ref)) throw repeating('--traffic', ref);
    refs.add(ref);
    sum += parsePercent(pct);
  }
  const traffic = [...flags.traffic];
  if (sum === 100 || traffic.length === 0) return traffic;
  if (sum > 100) throw sumError(sum);

  // sum < 100: the remainder goes to the one revision left out, if there is exactly one.
  const existing = input.statusTraffic;
  const given = traffic.length;
  if (given < existing.length - 1) throw sumError(sum);
  if (input.mutation) {
    if (given !== existing.length) throw sumError(sum);
    if (!refs.has(LATEST_REF)) return [...traffic, `${LATEST_REF}=${100 - sum}`];
  } else {
    if (given !== existing.length - 1) throw sumError(sum);
    if (refs.has(LATEST_REF) && input.latestReadyRevisionName) refs.add(input.latestReadyRevisionName);
  }
  for (const target of existing) {
    const rev = input.revisions.find((r) => r.name === target.revisionName);
    if (!rev) break;
    // A revision counts as given when named directly, by its tags annotation, or by its tag in status.
    const tagsOfRev = existing.filter((t) => t.revisionName === rev.name && t.tag).map((t) => t.tag!);
    const present =
      refs.has(rev.name) ||
      (rev.tagsAnnotation !== undefined && refs.has(rev.tagsAnnotation)) ||
      tagsOfRev.some((t) => refs.has(t));
    if (!present) return [...traffic, `${rev.name}=${100 - sum}`];
  }
  throw sumError(sum);
}

/** The new spec.traffic for the flags; targets with neither tag nor percent are dropped, as kn does. */
export function computeTraffic(input: ComputeInput): Target[] {
  const trafficFlags = verifyTraffic(input);
  let traffic: Target[] = input.specTraffic.map((t) => ({ ...t }));

  // First: untag.
  const missing: string[] = [];
  for (const tag of input.flags.untag) {
    const t = traffic.find((x) => x.tag === tag);
    if (t) delete t.tag;
    else missing.push(tag);
  }
  if (missing.length > 0) {
    throw new KnError(
      'SLUICE_ERR_KN_UNTAG',
      `tag(s) ${missing.join(', ')} not present for any revisions of service ${input.serviceName}`,
    );
  }

  const tagPresent = (tag: string): boolean => traffic.some((t) => t.tag === tag);
  // Second and third: tag @latest, then other revisions.
  for (const each of input.flags.tags) {
    const [rev, tag] = splitByEqualSign(each);
    if (rev === LATEST_REF) {
      const latest = traffic.find((t) => t.latestRevision === true);
      const existingTag = latest?.tag ?? '';
      if (existingTag === tag) continue;
      if (tagPresent(tag)) throw overwritingTag(tag);
      if (existingTag !== '') {
        throw new KnError(
          'SLUICE_ERR_KN_TAG_EXISTS',
          `tag '${existingTag}' exists on latest ready revision of service, refusing to overwrite existing tag with '${tag}', add flag '--untag ${existingTag}' in command to untag it`,
        );
      }
      if (latest) latest.tag = tag;
      else traffic.push(newTarget(tag, '', 0, true));
      continue;
    }
    if (traffic.some((t) => t.tag === tag && t.revisionName === rev)) continue;
    if (tagPresent(tag)) throw overwritingTag(tag);
    // Tag the first target of this revision when it has no tag; otherwise add a 0% target with the tag.
    const first = traffic.find((t) => t.revisionName === rev);
    if (first && !first.tag) first.tag = tag;
    else traffic.push(newTarget(tag, rev, 0, false));
  }

  if (input.trafficChanged || (input.create === true && input.flags.tags.length > 0)) {
    // What is on the command line is the whole desired split.
    for (const t of traffic) t.percent = 0;
    for (const each of trafficFlags) {
      const [ref, pct] = splitByEqualSign(each);
      const percent = Number.parseInt(pct, 10);
      if (ref === LATEST_REF) {
        const latest = traffic.find((t) => t.latestRevision === true);
        if (latest) latest.percent = percent;
        else traffic.push(newTarget('', '', percent, true));
        continue;
      }
      // A tag wins over a revision of the same name: tags are unique.
      const byTag = traffic.find((t) => t.tag === ref);
      if (byTag) {
        byTag.percent = percent;
        continue;
      }
      const byRev = traffic.find((t) => t.revisionName === ref);
      if (byRev) {
        byRev.percent = percent;
        continue;
      }
      traffic.push(newTarget('', ref, percent, false));
    }
  }
  traffic = traffic.filter((t) => (t.tag ?? '') !== '' || (t.percent ?? 0) !== 0);
  return traffic;
}

/**
 * Revision names that --traffic and --tag refer to (not tags, not @latest), for the client-side check
 * that they exist before anything is sent.
 */
export function referencedRevisions(input: Pick<ComputeInput, 'flags' | 'specTraffic'>): string[] {
  const tags = new Set(input.specTraffic.map((t) => t.tag).filter((t): t is string => !!t));
  for (const tag of input.flags.untag) tags.delete(tag);
  for (const each of input.flags.tags) tags.add(splitByEqualSign(each)[1]);
  const out: string[] = [];
  for (const each of input.flags.traffic) {
    const [ref] = splitByEqualSign(each);
    if (ref !== LATEST_REF && !tags.has(ref)) out.push(ref);
  }
  for (const each of input.flags.tags) {
    const [rev] = splitByEqualSign(each);
    if (rev !== LATEST_REF) out.push(rev);
  }
  return [...new Set(out)];
}
