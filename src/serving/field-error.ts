// A validation error tree with knative/pkg's apis.FieldError semantics, because the API server must print the
// exact text kubectl users and Knative's own tests expect. Every method returns a new value; an empty error
// (FieldError.none) plays the role of Go's nil receiver so validators can chain `.also()` unconditionally.

export type DiagnosticLevel = 'Error' | 'Warning';

const levelRank: Record<DiagnosticLevel, number> = { Error: 0, Warning: 1 };

/** Go's apis.CurrentField: a path element that disappears when paths are joined. */
export const CURRENT_FIELD = '';

export interface FieldErrorInit {
  message?: string;
  paths?: readonly string[];
  details?: string;
  level?: DiagnosticLevel;
}

/** One leaf of a merged error, as printed. */
export interface FieldErrorEntry {
  message: string;
  paths: string[];
  details: string;
  level: DiagnosticLevel;
}

const isIndex = (part: string): boolean => part.startsWith('[') && part.endsWith(']');

/** Joins path parts with dots, attaching `[i]`/`[key]` to the element before it and dropping empty parts. */
function flatten(parts: readonly string[]): string {
  const out: string[] = [];
  for (const part of parts) {
    for (const p of part.split('.')) {
      if (p === CURRENT_FIELD) continue;
      if (out.length > 0 && isIndex(p)) out[out.length - 1] += p;
      else out.push(p);
    }
  }
  return out.join('.');
}

export class FieldError {
  static readonly none = new FieldError({});

  readonly message: string;
  readonly paths: readonly string[];
  readonly details: string;
  readonly level: DiagnosticLevel;
  readonly #children: readonly FieldError[];

  constructor(init: FieldErrorInit, children: readonly FieldError[] = []) {
    this.message = init.message ?? '';
    this.paths = [...(init.paths ?? [])];
    this.details = init.details ?? '';
    this.level = init.level ?? 'Error';
    this.#children = children;
  }

  isEmpty(): boolean {
    return this.message === '' && this.details === '' && this.#children.length === 0 && this.paths.length === 0;
  }

  /** Prefixes every path with `prefix` (several prefixes are joined outermost first). */
  viaField(...prefix: string[]): FieldError {
    if (this.isEmpty()) return this;
    const head = new FieldError({
      message: this.message,
      details: this.details,
      level: this.level,
      paths: this.paths.map((p) => flatten([...prefix, p])),
    });
    return head.also(...this.#children.map((c) => c.viaField(...prefix)));
  }

  viaIndex(index: number): FieldError {
    return this.viaField(`[${index}]`);
  }

  /** `field[index]`: note the index binds to the field, as in Go's ViaFieldIndex. */
  viaFieldIndex(field: string, index: number): FieldError {
    return this.viaIndex(index).viaField(field);
  }

  viaKey(key: string): FieldError {
    return this.viaField(`[${key}]`);
  }

  viaFieldKey(field: string, key: string): FieldError {
    return this.viaKey(key).viaField(field);
  }

  /** Sets the level of this error and everything below it. */
  at(level: DiagnosticLevel): FieldError {
    if (this.isEmpty()) return this;
    const head = new FieldError({ message: this.message, details: this.details, paths: this.paths, level });
    return head.also(...this.#children.map((c) => c.at(level)));
  }

  /** Keeps only entries of one level; empty when none. */
  filter(level: DiagnosticLevel): FieldError {
    let out = FieldError.none;
    if (this.isEmpty()) return out;
    if (this.level === level && (this.message !== '' || this.details !== '' || this.paths.length > 0)) {
      out = new FieldError({ message: this.message, details: this.details, paths: this.paths, level });
    }
    for (const c of this.#children) out = out.also(c.filter(level));
    return out;
  }

  also(...errs: (FieldError | undefined)[]): FieldError {
    const nonEmpty = errs.filter((e): e is FieldError => e !== undefined && !e.isEmpty());
    if (nonEmpty.length === 0) return this;
    if (this.isEmpty()) return new FieldError({}, nonEmpty);
    return new FieldError({ message: this.message, details: this.details, level: this.level, paths: this.paths }, [
      ...this.#children,
      ...nonEmpty,
    ]);
  }

  /** Entries with a message, depth first, before merging. */
  #normalized(): FieldErrorEntry[] {
    const out: FieldErrorEntry[] = [];
    if (this.message !== '') {
      out.push({ message: this.message, paths: [...this.paths], details: this.details, level: this.level });
    }
    for (const c of this.#children) out.push(...c.#normalized());
    return out;
  }

  /** Entries merged by (level, message, details), paths de-duplicated and sorted, entries sorted. */
  entries(): FieldErrorEntry[] {
    const byKey = new Map<string, FieldErrorEntry>();
    for (const e of this.#normalized()) {
      const key = `${e.level}-${e.message}-${e.details}`;
      const seen = byKey.get(key);
      if (seen) {
        for (const p of e.paths) if (!seen.paths.includes(p)) seen.paths.push(p);
      } else {
        byKey.set(key, { ...e, paths: [...e.paths] });
      }
    }
    const merged = [...byKey.values()];
    for (const e of merged) e.paths.sort(compareStrings);
    merged.sort(
      (a, b) =>
        compareStrings(a.message, b.message) ||
        compareStrings(a.details, b.details) ||
        levelRank[a.level] - levelRank[b.level],
    );
    return merged;
  }

  /** Every path named by any entry, sorted and unique. */
  allPaths(): string[] {
    return [...new Set(this.entries().flatMap((e) => e.paths))].sort(compareStrings);
  }

  /** knative/pkg's Error(): `message: path1, path2` (+ `\ndetails`), entries joined by newlines. */
  error(): string {
    return this.entries()
      .map((e) => {
        const line = `${e.message}: ${e.paths.join(', ')}`;
        return e.details === '' ? line : `${line}\n${e.details}`;
      })
      .join('\n');
  }

  toString(): string {
    return this.error();
  }
}

/** Bytewise order, as Go's `<` on strings (identical to UTF-16 order for the ASCII that paths use). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// Constructors with knative/pkg's exact messages.

export const errMissingField = (...paths: string[]): FieldError =>
  new FieldError({ message: 'missing field(s)', paths });

export const errDisallowedFields = (...paths: string[]): FieldError =>
  new FieldError({ message: 'must not set the field(s)', paths });

export const errGeneric = (message: string, ...paths: string[]): FieldError => new FieldError({ message, paths });

export const errMissingOneOf = (...paths: string[]): FieldError =>
  new FieldError({ message: 'expected exactly one, got neither', paths });

export const errMultipleOneOf = (...paths: string[]): FieldError =>
  new FieldError({ message: 'expected exactly one, got both', paths });

/** `invalid value: <value>`; `value` is printed as Go's fmt.Sprint would for strings and numbers. */
export const errInvalidValue = (value: unknown, path: string, ...details: string[]): FieldError =>
  new FieldError({ message: `invalid value: ${goSprint(value)}`, paths: [path], details: details.join(', ') });

export const errInvalidArrayValue = (value: unknown, field: string, index: number): FieldError =>
  errInvalidValue(value, CURRENT_FIELD).viaFieldIndex(field, index);

export const errInvalidKeyName = (key: string, path: string, ...details: string[]): FieldError =>
  new FieldError({ message: `invalid key name ${goQuote(key)}`, paths: [path], details: details.join(', ') });

export const errOutOfBoundsValue = (value: unknown, lower: unknown, upper: unknown, path: string): FieldError =>
  new FieldError({ message: `expected ${goSprint(lower)} <= ${goSprint(value)} <= ${goSprint(upper)}`, paths: [path] });

/** Go's %v for the scalar and string-slice values validation prints. */
export function goSprint(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(goSprint).join(' ')}]`;
  if (v === undefined || v === null) return '<nil>';
  if (typeof v === 'number') return goFloat(v);
  return String(v);
}

/** Go's %v for a float64/int: integers plainly, fractions shortest round-trip, large exponents as e+XX. */
export function goFloat(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  const s = String(n);
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

/** Go's %q for the printable ASCII names Knative quotes. */
export function goQuote(s: string): string {
  return JSON.stringify(s);
}
