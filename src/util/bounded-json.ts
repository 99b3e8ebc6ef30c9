// Limits checked on untrusted JSON and YAML text before it is parsed: nesting depth (every recursive walk over
// the result — defaulting, schema validation, merge patch, cloning — would otherwise overflow the stack or burn
// seconds of CPU on a body of a few hundred kilobytes) and YAML aliases (billion-laughs expansion). A violation
// is a LimitError naming the limit, which HTTP layers answer with 400.
import { parse as parseYaml } from 'yaml';
import { SluiceError } from './errors.js';

/** Deeper than any real Kubernetes object (a CRD's openAPIV3Schema is a few dozen levels), far below the stack. */
export const MAX_NESTING_DEPTH = 200;
/** Alias nodes a YAML document may use (the yaml library's own default, made explicit). */
export const MAX_YAML_ALIASES = 100;

export const LimitErrorCode = {
  Depth: 'SLUICE_ERR_INPUT_DEPTH',
  Aliases: 'SLUICE_ERR_INPUT_ALIASES',
  Time: 'SLUICE_ERR_INPUT_TIME',
} as const;

export class LimitError extends SluiceError {}

function depthError(depth: number, max: number): LimitError {
  return new LimitError(
    LimitErrorCode.Depth,
    `the document is nested more than ${max} levels deep (at least ${depth}); the limit on nesting depth is ${max}`,
  );
}

/**
 * The greatest depth of `[`/`{` nesting in JSON text, stopping early once past `max` (strings are skipped, so
 * brackets inside them do not count). Linear in the text, no allocation.
 */
export function jsonDepth(text: string, max = Infinity): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > max) return deepest;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/** JSON.parse after the depth check. */
export function parseJsonBounded(text: string, maxDepth = MAX_NESTING_DEPTH): unknown {
  const d = jsonDepth(text, maxDepth);
  if (d > maxDepth) throw depthError(d, maxDepth);
  return JSON.parse(text);
}

/**
 * An estimate of a YAML document's nesting depth without parsing it: block nesting from the stack of
 * indentations, plus compact sequence entries (`- - - x`) and flow brackets on the line. Block scalars (`|`, `>`)
 * are skipped, comments and quoted scalars ignored. It can be off by a level per sequence written at its key's
 * indentation, so it only stops hostile documents before the (recursive, costly) parse; the parsed value is
 * measured exactly afterwards.
 */
export function yamlDepth(text: string, max = Infinity): number {
  const indents: number[] = [];
  let deepest = 0;
  let flow = 0;
  let blockScalarIndent = -1;
  let pos = 0;
  while (pos <= text.length) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    const line = text.slice(pos, end);
    pos = end + 1;
    let indent = 0;
    while (indent < line.length && (line[indent] === ' ' || line[indent] === '\t')) indent++;
    if (indent === line.length || line[indent] === '#') continue;
    if (blockScalarIndent >= 0) {
      if (indent > blockScalarIndent) continue;
      blockScalarIndent = -1;
    }
    if (flow === 0) {
      while (indents.length > 0 && indents[indents.length - 1]! >= indent) indents.pop();
      indents.push(indent);
    }
    let i = indent;
    let compact = 0;
    while ((line[i] === '-' || line[i] === '?') && (line[i + 1] === ' ' || i + 1 === line.length)) {
      compact++;
      i += 2;
      while (line[i] === ' ') i++;
    }
    let quote = '';
    let lineFlowPeak = flow;
    for (; i < line.length; i++) {
      const c = line[i]!;
      if (quote) {
        if (c === '\\' && quote === '"') i++;
        else if (c === quote) quote = '';
        continue;
      }
      if (c === '"' || c === "'") quote = c;
      else if (c === '#' && (i === 0 || line[i - 1] === ' ')) break;
      else if (c === '[' || c === '{') lineFlowPeak = Math.max(lineFlowPeak, ++flow);
      else if (c === ']' || c === '}') flow = Math.max(0, flow - 1);
    }
    const d = indents.length + compact + lineFlowPeak;
    if (d > deepest) {
      deepest = d;
      if (deepest > max) return deepest;
    }
    if (flow === 0 && /(^|[:\-?]\s*)[|>][-+0-9]*\s*(#.*)?$/.test(line.slice(indent))) blockScalarIndent = indent;
  }
  return deepest;
}

/** The exact nesting depth of a parsed value (iterative: safe on any depth), stopping once past `max`. */
export function valueDepth(v: unknown, max = Infinity): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[v, 1]];
  while (stack.length > 0) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    if (d > deepest) {
      deepest = d;
      if (deepest > max) return deepest;
    }
    for (const c of Array.isArray(x) ? x : Object.values(x))
      if (c !== null && typeof c === 'object') stack.push([c, d + 1]);
  }
  return deepest;
}

/** YAML parse after the depth check, with the alias limit; a broken limit is a LimitError naming it. */
export function parseYamlBounded(text: string, maxDepth = MAX_NESTING_DEPTH): unknown {
  const d = yamlDepth(text, maxDepth * 2);
  if (d > maxDepth * 2) throw depthError(d, maxDepth);
  try {
    const v: unknown = parseYaml(text, { prettyErrors: true, maxAliasCount: MAX_YAML_ALIASES });
    const exact = valueDepth(v, maxDepth);
    if (exact > maxDepth) throw depthError(exact, maxDepth);
    return v;
  } catch (e) {
    if (e instanceof LimitError) throw e;
    if (e instanceof Error && /alias count/i.test(e.message))
      throw new LimitError(
        LimitErrorCode.Aliases,
        `the YAML document expands more than ${MAX_YAML_ALIASES} alias nodes; the limit on YAML aliases is ${MAX_YAML_ALIASES}`,
        { cause: e },
      );
    throw e;
  }
}
