// Reads policies/*.yaml (multi-document) into typed RolloutPolicy objects, keeping YAML positions so that
// every problem is reported as `policies/web.yaml:14:7: spec.analysis.interval: <what is wrong>`.
// Validation returns all problems and never throws; only an unreadable directory throws.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { LineCounter, parseAllDocuments, isMap, isPair, isScalar, isSeq, type Document, type Node } from 'yaml';
import type { ErrorObject } from 'ajv';
import { PolicyError, RolloutErrorCode } from '../errors.js';
import { policyValidator } from './schema.js';
import { semanticProblems, type Problem } from './validate.js';
import { unguardedRatios } from './promql-lint.js';
import { API_VERSION, POLICY_KIND, type RolloutPolicy } from './types.js';

export type PathSegment = string | number;

export interface ParsedPolicy {
  policy: RolloutPolicy;
  file: string;
  /** Position of the document's first line. */
  line: number;
  /** Index of the document in a multi-document file. */
  index: number;
}

export interface ParseResult {
  policies: ParsedPolicy[];
  errors: PolicyError[];
  /** Valid but probably wrong (an unguarded ratio); never blocks a policy. */
  warnings: PolicyError[];
}

/** `spec.strategy.canary.steps[1].setWeight` */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}

function ajvPath(instancePath: string): PathSegment[] {
  if (instancePath === '') return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
}

type Located = { offset: number };

/**
 * The source offset for `path`: the value's node, or with `key` the key of the last segment (for unknown
 * fields), falling back to the deepest ancestor that exists (for missing fields).
 */
function locate(doc: Document, path: readonly PathSegment[], key = false): Located {
  let node: unknown = doc.contents;
  let best = rangeStart(node) ?? 0;
  // Where the current node's key is, if it has one: a missing field is reported at its parent's key
  // (`analysis:` for a missing `spec.analysis.interval`), which is where the user will add it.
  let parentKey: number | undefined;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return { offset: parentKey ?? best };
      if (last && key) return { offset: rangeStart(pair.key) ?? best };
      parentKey = rangeStart(pair.key);
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
      parentKey = undefined;
      node = node.items[seg];
    } else {
      return { offset: parentKey ?? best };
    }
    best = rangeStart(node) ?? best;
  }
  return { offset: key && parentKey !== undefined ? parentKey : best };
}

function rangeStart(node: unknown): number | undefined {
  if (node && typeof node === 'object' && 'range' in node) {
    const r = (node as Node).range;
    if (Array.isArray(r)) return r[0];
  }
  return undefined;
}

const DURATION_PATTERN = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$';

function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
}

function listOf(v: unknown): string[] {
  return Array.isArray(v) ? v.map((x) => String(x)) : [];
}

/** ajv's terse messages rewritten to say what is wrong and what would be right. */
function describe(e: ErrorObject): { path: PathSegment[]; detail: string; key: boolean } {
  const path = ajvPath(e.instancePath);
  const p = e.params as Record<string, unknown>;
  const parent = (e.parentSchema ?? {}) as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return { path: [...path, String(p.missingProperty)], detail: 'is required', key: false };
    case 'additionalProperties': {
      const known = Object.keys((parent.properties ?? {}) as object).sort();
      return {
        path: [...path, String(p.additionalProperty)],
        detail: `unknown field; expected one of: ${known.join(', ')}`,
        key: true,
      };
    }
    case 'type':
      return {
        path,
        detail: `must be ${p.type === 'integer' || p.type === 'object' || p.type === 'array' ? 'an' : 'a'} ${String(p.type)}, got ${show(e.data)}`,
        key: false,
      };
    case 'enum':
      return { path, detail: `must be one of: ${listOf(p.allowedValues).join(', ')}; got ${show(e.data)}`, key: false };
    case 'pattern':
      if (p.pattern === DURATION_PATTERN)
        return { path, detail: `must be a duration such as 500ms, 1s, 5m or 1h; got ${show(e.data)}`, key: false };
      return { path, detail: `must match ${String(p.pattern)}; got ${show(e.data)}`, key: false };
    case 'minimum':
    case 'maximum':
      return { path, detail: `must be ${String(p.comparison)} ${String(p.limit)}; got ${show(e.data)}`, key: false };
    case 'minItems':
      return { path, detail: `must have at least ${String(p.limit)} item(s)`, key: false };
    case 'minLength':
      return { path, detail: 'must not be empty', key: false };
    case 'minProperties':
      return { path, detail: `must set at least ${String(p.limit)} field(s)`, key: false };
    case 'oneOf': {
      const choices = (Array.isArray(parent.oneOf) ? parent.oneOf : []).flatMap((b: unknown) =>
        listOf((b as Record<string, unknown>).required),
      );
      const data = (e.data ?? {}) as Record<string, unknown>;
      const set = choices.filter((c) => data[c] !== undefined);
      if (set.length > 1)
        return {
          path: [...path, set[1] as string],
          detail: `set only one of ${choices.join(', ')}; ${set.join(' and ')} are both set`,
          key: true,
        };
      return { path, detail: `must set exactly one of: ${choices.join(', ')}`, key: true };
    }
    default:
      return { path, detail: e.message ?? e.keyword, key: false };
  }
}

/**
 * Parses one YAML text (any number of `---` documents). `file` is how positions are reported
 * (use the path relative to the repository, e.g. `policies/web.yaml`).
 */
export function parsePolicies(text: string, file: string): ParseResult {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const result: ParseResult = { policies: [], errors: [], warnings: [] };
  const at = (offset: number): { file: string; line: number; column: number } => {
    const pos = lineCounter.linePos(offset);
    return { file, line: pos.line, column: pos.col };
  };
  if (!Array.isArray(docs)) return result; // an empty stream: no policies, nothing wrong
  docs.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      // Only the first: later YAML errors are almost always the same mistake seen again.
      const err = doc.errors[0];
      if (err)
        result.errors.push(
          new PolicyError(
            RolloutErrorCode.PolicyYaml,
            '',
            `invalid YAML: ${err.message.split('\n')[0]}`,
            at(err.pos[0]),
          ),
        );
      return;
    }
    if (doc.contents === null) return; // `---` followed by nothing, or only comments
    const value: unknown = doc.toJS();
    const docStart = rangeStart(doc.contents) ?? 0;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      result.errors.push(
        new PolicyError(
          RolloutErrorCode.PolicySchema,
          '',
          `document ${index + 1} must be a mapping (a RolloutPolicy object)`,
          at(docStart),
        ),
      );
      return;
    }
    const obj = value as Record<string, unknown>;
    const errors: PolicyError[] = [];
    const push = (code: RolloutErrorCode, path: PathSegment[], detail: string, key = false): void => {
      errors.push(new PolicyError(code, formatPath(path), detail, at(locate(doc, path, key).offset)));
    };
    if (obj.apiVersion !== API_VERSION)
      push(RolloutErrorCode.PolicySchema, ['apiVersion'], `must be ${API_VERSION}; got ${show(obj.apiVersion)}`);
    if (obj.kind !== POLICY_KIND)
      push(RolloutErrorCode.PolicySchema, ['kind'], `must be ${POLICY_KIND}; got ${show(obj.kind)}`);
    const meta = obj.metadata as Record<string, unknown> | undefined;
    if (!meta || typeof meta.name !== 'string')
      push(RolloutErrorCode.PolicySchema, ['metadata', 'name'], 'is required');

    const validate = policyValidator();
    if (!validate(obj)) {
      const raw = validate.errors ?? [];
      // oneOf reports each failed branch too ("must have required property 'pause'"); the oneOf
      // error itself says it better, so drop the branch noise.
      const relevant = raw.filter((e) => !/\/oneOf\/[0-9]+\//.test(e.schemaPath));
      const seen = new Set<string>();
      for (const e of relevant) {
        const d = describe(e);
        const k = `${formatPath(d.path)}|${d.detail}`;
        if (seen.has(k)) continue;
        seen.add(k);
        push(RolloutErrorCode.PolicySchema, d.path, d.detail, d.key);
      }
    }
    if (errors.length === 0) {
      for (const pr of semanticProblems(obj as unknown as RolloutPolicy)) pushProblem(pr);
    }
    function pushProblem(pr: Problem): void {
      const loc = locate(doc, pr.path, pr.key ?? false);
      errors.push(
        new PolicyError(
          RolloutErrorCode.PolicyInvalid,
          formatPath(pr.path),
          pr.detail,
          at(loc.offset + (pr.offsetInValue ?? 0)),
        ),
      );
    }
    errors.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
    if (errors.length === 0) {
      const metrics = (obj as unknown as RolloutPolicy).spec.analysis?.metrics ?? [];
      metrics.forEach((m, i) => {
        if (m.query === undefined) return;
        const path: PathSegment[] = ['spec', 'analysis', 'metrics', i, 'query'];
        for (const w of unguardedRatios(m.query))
          result.warnings.push(
            new PolicyError(
              RolloutErrorCode.PolicyUnguardedRatio,
              formatPath(path),
              w.detail,
              at(locate(doc, path).offset),
            ),
          );
      });
    }
    if (errors.length > 0) result.errors.push(...errors);
    else result.policies.push({ policy: obj as unknown as RolloutPolicy, file, line: at(docStart).line, index });
  });
  return result;
}

/**
 * Every `*.yaml` / `*.yml` in `dir`, sorted by name. `displayDir` is how the directory appears in positions
 * (default `policies`), so messages read `policies/web.yaml:14:7: ...` wherever the checkout lives.
 */
export function loadPolicyDir(dir: string, displayDir = 'policies'): ParseResult {
  const names = readdirSync(dir)
    .filter((n) => n.endsWith('.yaml') || n.endsWith('.yml'))
    .sort();
  const out: ParseResult = { policies: [], errors: [], warnings: [] };
  for (const name of names) {
    const r = parsePolicies(readFileSync(join(dir, name), 'utf8'), `${displayDir}/${name}`);
    out.policies.push(...r.policies);
    out.errors.push(...r.errors);
    out.warnings.push(...r.warnings);
  }
  const seen = new Map<string, ParsedPolicy>();
  for (const p of out.policies) {
    const key = `${p.policy.metadata.namespace ?? 'default'}/${p.policy.metadata.name}`;
    const prev = seen.get(key);
    if (prev) {
      out.errors.push(
        new PolicyError(
          RolloutErrorCode.PolicyInvalid,
          'metadata.name',
          `duplicate policy ${key}; first defined at ${prev.file}:${prev.line}`,
          { file: p.file, line: p.line, column: 1 },
        ),
      );
    } else {
      seen.set(key, p);
    }
  }
  return out;
}
