// CloudEvents SQL (CESQL) v1, the `cesql` dialect of a Trigger's `filters`, as Knative Eventing evaluates it:
// Knative parses and evaluates with github.com/cloudevents/sdk-go/sql/v2, so where the spec leaves room (or
// sdk-go departs from its prose) this follows sdk-go, because a filter must pick the same events here as on a
// cluster. The grammar is the spec's ANTLR grammar (cesql/CESQLParser.g4), which sdk-go generates its parser
// from; the precedence below is what ANTLR makes of it. Pure: no I/O, no global state.
//
// Values are strings, booleans and 32-bit integers (JS numbers kept in int32 range). An evaluation error does
// not stop at a throw in sdk-go: every operator returns a value *and* the error, the value being the zero value
// of its return type (false, 0, "") unless the failing function says otherwise (e.g. LEFT('abc', -2) is 'abc').
// `evaluateCesqlValue` reports both; `evaluateCesql` is the filter's answer (Knative: any error, or a result
// that is not TRUE, fails the filter).

export type CesqlValue = string | number | boolean;

/** What an expression sees: attribute and extension values. Binary-mode events carry strings only. */
export type CesqlEvent = Readonly<Record<string, CesqlValue | undefined>>;

export type CesqlErrorKind =
  'parse' | 'math' | 'cast' | 'missingAttribute' | 'missingFunction' | 'functionEvaluation' | 'generic';

// sdk-go's error kinds print as "<kind>: <message>" (sql/v2/errors); the same words here.
const KIND_TEXT: Record<CesqlErrorKind, string> = {
  parse: 'parse error',
  math: 'math error',
  cast: 'cast error',
  missingAttribute: 'missing attribute error',
  missingFunction: 'missing function error',
  functionEvaluation: 'function evaluation error',
  generic: 'generic error',
};

export class CesqlError extends Error {
  constructor(
    readonly kind: CesqlErrorKind,
    detail: string,
  ) {
    super(`${KIND_TEXT[kind]}: ${detail}`);
    this.name = 'CesqlError';
  }
}

/** A rejected expression; `position` is the 0-based offset into the text where parsing stopped. */
export class CesqlParseError extends CesqlError {
  constructor(
    detail: string,
    readonly position: number,
  ) {
    super('parse', detail);
    this.name = 'CesqlParseError';
  }
}

/** Sluice's bounds (Knative has none): a filter is parsed at admission and evaluated per event. */
export const CESQL_MAX_BYTES = 4096;
export const CESQL_MAX_DEPTH = 64;

export type CesqlBinaryOp = 'AND' | 'OR' | 'XOR' | '=' | '!=' | '<' | '<=' | '>' | '>=' | '+' | '-' | '*' | '/' | '%';

export type CesqlExpression =
  | { readonly kind: 'literal'; readonly value: CesqlValue }
  | { readonly kind: 'attribute'; readonly name: string }
  | { readonly kind: 'exists'; readonly name: string }
  | { readonly kind: 'not'; readonly operand: CesqlExpression }
  | { readonly kind: 'negate'; readonly operand: CesqlExpression }
  | {
      readonly kind: 'binary';
      readonly op: CesqlBinaryOp;
      readonly left: CesqlExpression;
      readonly right: CesqlExpression;
    }
  | { readonly kind: 'like'; readonly operand: CesqlExpression; readonly pattern: Uint8Array }
  | { readonly kind: 'in'; readonly operand: CesqlExpression; readonly set: readonly CesqlExpression[] }
  | { readonly kind: 'call'; readonly name: string; readonly args: readonly CesqlExpression[] };

// ---------------------------------------------------------------------------------------------------------
// Lexer. It mirrors the grammar's lexer rules, longest match first and, on a tie, the rule listed first — which
// is why `5abc` is one identifier, `-5` one integer (so `1 -5` is two values in a row, a syntax error, while
// `1 - 5` is a subtraction) and `my_attr` a function name. sdk-go upper-cases what its lexer sees, so keywords and
// function names are case-insensitive; identifiers are then lower-cased and function names upper-cased.

type TokenKind =
  | 'integer' // [+-]?[0-9]+
  | 'string' // '...' or "..."
  | 'name' // [a-zA-Z]+ that is not a keyword: an attribute, or a function when '(' follows
  | 'alnum' // [a-zA-Z0-9]+ with a digit: an attribute only
  | 'fname' // [a-zA-Z][a-zA-Z_]* with an underscore: a function only
  | 'keyword' // AND OR XOR NOT LIKE EXISTS IN TRUE FALSE
  | 'symbol' // ( ) , * / % + - = != <> < <= > >=
  | 'eof';

interface Token {
  kind: TokenKind;
  text: string; // as written (keywords upper-cased)
  pos: number;
  value?: CesqlValue; // integer and string literals
}

const KEYWORDS = new Set(['AND', 'OR', 'XOR', 'NOT', 'LIKE', 'EXISTS', 'IN', 'TRUE', 'FALSE']);
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isLetter = (c: string | undefined): boolean =>
  c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));

function syntaxError(detail: string, pos: number): CesqlParseError {
  return new CesqlParseError(`syntax error: ${detail}`, pos);
}

/** A quoted literal: `\x` escapes any character and a doubled quote stays in the string (both as sdk-go does). */
function lexString(text: string, start: number): Token {
  const q = text[start];
  let i = start + 1;
  let end = -1; // where the longest well-formed literal ends, as the lexer backs off to it
  while (i < text.length) {
    const c = text[i];
    if (c === '\\') {
      if (i + 1 >= text.length) break;
      i += 2;
    } else if (c === q) {
      end = i + 1;
      if (text[i + 1] !== q) break;
      i += 2;
    } else i++;
  }
  if (end < 0) throw syntaxError(`unterminated string literal at position ${start}`, start);
  // sdk-go only turns \' (or \") into the quote; every other backslash, and a doubled quote, is kept as written.
  const raw = text.slice(start + 1, end - 1);
  return { kind: 'string', text: text.slice(start, end), pos: start, value: raw.split(`\\${q}`).join(q) };
}

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] ?? '';
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      i++;
      continue;
    }
    const start = i;
    if (c === "'" || c === '"') {
      const t = lexString(text, i);
      out.push(t);
      i += t.text.length;
    } else if (isDigit(c) || ((c === '+' || c === '-') && isDigit(text[i + 1]))) {
      // Digits only: an integer. A letter among them makes the longer identifier win (`5abc`).
      let j = i + 1;
      while (isDigit(text[j])) j++;
      let k = j;
      while (isDigit(text[k]) || isLetter(text[k])) k++;
      if (k > j && isDigit(c)) {
        out.push({ kind: 'alnum', text: text.slice(i, k), pos: start });
        i = k;
      } else {
        out.push({ kind: 'integer', text: text.slice(i, j), pos: start });
        i = j;
      }
    } else if (isLetter(c)) {
      let alnum = i; // [a-zA-Z0-9]+
      while (isLetter(text[alnum]) || isDigit(text[alnum])) alnum++;
      let fn = i + 1; // [a-zA-Z][a-zA-Z_]*
      while (isLetter(text[fn]) || text[fn] === '_') fn++;
      const end = Math.max(alnum, fn);
      const word = text.slice(i, end);
      if (fn > alnum) out.push({ kind: 'fname', text: word, pos: start });
      else if (alnum > fn) out.push({ kind: 'alnum', text: word, pos: start });
      else if (KEYWORDS.has(word.toUpperCase())) out.push({ kind: 'keyword', text: word.toUpperCase(), pos: start });
      else out.push({ kind: 'name', text: word, pos: start });
      i = end;
    } else {
      const two = text.slice(i, i + 2);
      const sym = ['!=', '<>', '<=', '>='].includes(two) ? two : '()*/%+-=<>,'.includes(c) ? c : '';
      if (sym === '') throw syntaxError(`unexpected character ${JSON.stringify(c)} at position ${i}`, i);
      out.push({ kind: 'symbol', text: sym, pos: start });
      i += sym.length;
    }
  }
  out.push({ kind: 'eof', text: '', pos: text.length });
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Parser: recursive descent over the precedence ANTLR derives from the grammar's alternatives, tightest first:
//   function call, literal, attribute, EXISTS, ( )  >  NOT, unary -  >  LIKE, IN (postfix)  >  * / %  >  + -
//   >  = != <> < <= > >=  >  AND OR XOR.
// The binary operators are left-associative except AND/OR/XOR, which share one level and group to the right
// (`<assoc=right>` in the grammar): `FALSE AND TRUE OR TRUE` is `FALSE AND (TRUE OR TRUE)`, i.e. false.
// Unary operators bind tighter than LIKE and IN: `NOT x LIKE 'a'` is `(NOT x) LIKE 'a'`; write `x NOT LIKE 'a'`.
// Nesting (parentheses, NOT, unary -, function arguments, IN lists) is bounded by CESQL_MAX_DEPTH; long
// operator chains are bounded by the length limit alone.

class Parser {
  #i = 0;
  #depth = 0;
  #last = 0; // position of the token consumed last: where a nesting level opens
  constructor(private readonly tokens: Token[]) {}

  #peek(offset = 0): Token {
    return this.tokens[Math.min(this.#i + offset, this.tokens.length - 1)] as Token;
  }
  #next(): Token {
    const t = this.#peek();
    if (t.kind !== 'eof') this.#i++;
    this.#last = t.pos;
    return t;
  }
  #isKeyword(word: string, offset = 0): boolean {
    const t = this.#peek(offset);
    return t.kind === 'keyword' && t.text === word;
  }
  #isSymbol(sym: string): boolean {
    const t = this.#peek();
    return t.kind === 'symbol' && t.text === sym;
  }
  #unexpected(expected: string): CesqlParseError {
    const t = this.#peek();
    const got = t.kind === 'eof' ? 'end of expression' : `'${t.text}'`;
    return syntaxError(`unexpected ${got} at position ${t.pos}, expected ${expected}`, t.pos);
  }
  #expectSymbol(sym: string): void {
    if (!this.#isSymbol(sym)) throw this.#unexpected(`'${sym}'`);
    this.#next();
  }
  #nested<T>(parse: () => T): T {
    if (++this.#depth > CESQL_MAX_DEPTH) {
      const pos = this.#last;
      throw new CesqlParseError(
        `expression nested more than ${CESQL_MAX_DEPTH} levels deep at position ${pos} (parentheses, NOT, -, function calls)`,
        pos,
      );
    }
    try {
      return parse();
    } finally {
      this.#depth--;
    }
  }

  parse(): CesqlExpression {
    const e = this.#logic();
    if (this.#peek().kind !== 'eof') throw this.#unexpected('an operator or the end of the expression');
    return e;
  }

  #logic(): CesqlExpression {
    const left = this.#comparison();
    const t = this.#peek();
    if (t.kind === 'keyword' && (t.text === 'AND' || t.text === 'OR' || t.text === 'XOR')) {
      this.#next();
      return { kind: 'binary', op: t.text as CesqlBinaryOp, left, right: this.#logic() }; // right-associative
    }
    return left;
  }

  #leftAssoc(ops: readonly string[], operand: () => CesqlExpression): CesqlExpression {
    let left = operand();
    for (;;) {
      const t = this.#peek();
      if (t.kind !== 'symbol' || !ops.includes(t.text)) return left;
      this.#next();
      const op = (t.text === '<>' ? '!=' : t.text) as CesqlBinaryOp;
      left = { kind: 'binary', op, left, right: operand() };
    }
  }

  #comparison(): CesqlExpression {
    return this.#leftAssoc(['=', '!=', '<>', '<', '<=', '>', '>='], () => this.#additive());
  }
  #additive(): CesqlExpression {
    return this.#leftAssoc(['+', '-'], () => this.#multiplicative());
  }
  #multiplicative(): CesqlExpression {
    return this.#leftAssoc(['*', '/', '%'], () => this.#postfix());
  }

  /** `x [NOT] LIKE 'pattern'` and `x [NOT] IN (a, b, ...)`, any number of them in a row. */
  #postfix(): CesqlExpression {
    let e = this.#unary();
    for (;;) {
      const negated = this.#isKeyword('NOT') && (this.#isKeyword('LIKE', 1) || this.#isKeyword('IN', 1));
      if (negated) this.#next();
      if (this.#isKeyword('LIKE')) {
        this.#next();
        const p = this.#peek();
        if (p.kind !== 'string') throw this.#unexpected('a string literal (the LIKE pattern)');
        this.#next();
        e = { kind: 'like', operand: e, pattern: Buffer.from(String(p.value), 'utf8') };
      } else if (this.#isKeyword('IN')) {
        this.#next();
        this.#expectSymbol('(');
        const set = this.#nested(() => this.#list());
        if (set.length === 0) throw this.#unexpected('a value (an IN list is never empty)');
        this.#expectSymbol(')');
        e = { kind: 'in', operand: e, set };
      } else return e;
      if (negated) e = { kind: 'not', operand: e };
    }
  }

  /** Comma-separated expressions up to (not including) ')'. */
  #list(): CesqlExpression[] {
    const items: CesqlExpression[] = [];
    if (this.#isSymbol(')')) return items;
    items.push(this.#logic());
    while (this.#isSymbol(',')) {
      this.#next();
      items.push(this.#logic());
    }
    return items;
  }

  #unary(): CesqlExpression {
    if (this.#isKeyword('NOT')) {
      this.#next();
      return this.#nested(() => ({ kind: 'not', operand: this.#unary() }));
    }
    if (this.#isSymbol('-')) {
      this.#next();
      return this.#nested(() => ({ kind: 'negate', operand: this.#unary() }));
    }
    return this.#primary();
  }

  #primary(): CesqlExpression {
    const t = this.#peek();
    if (t.kind === 'symbol' && t.text === '(') {
      this.#next();
      const e = this.#nested(() => this.#logic());
      this.#expectSymbol(')');
      return e;
    }
    if (t.kind === 'keyword' && (t.text === 'TRUE' || t.text === 'FALSE')) {
      this.#next();
      return { kind: 'literal', value: t.text === 'TRUE' };
    }
    if (t.kind === 'keyword' && t.text === 'EXISTS') {
      this.#next();
      const id = this.#peek();
      if (id.kind !== 'name' && id.kind !== 'alnum') throw this.#unexpected('an attribute name after EXISTS');
      this.#next();
      return { kind: 'exists', name: id.text.toLowerCase() };
    }
    if (t.kind === 'integer') {
      this.#next();
      return { kind: 'literal', value: integerLiteral(t) };
    }
    if (t.kind === 'string') {
      this.#next();
      return { kind: 'literal', value: t.value ?? '' };
    }
    if ((t.kind === 'name' || t.kind === 'fname') && this.#peek(1).kind === 'symbol' && this.#peek(1).text === '(') {
      this.#next();
      this.#next();
      const args = this.#nested(() => this.#list());
      this.#expectSymbol(')');
      return { kind: 'call', name: t.text.toUpperCase(), args };
    }
    if (t.kind === 'name' || t.kind === 'alnum') {
      this.#next();
      return { kind: 'attribute', name: t.text.toLowerCase() };
    }
    if (t.kind === 'fname') {
      throw syntaxError(
        `unexpected '${t.text}' at position ${t.pos}, expected '(' after a function name ` +
          '(attribute names are letters and digits only)',
        t.pos,
      );
    }
    throw this.#unexpected('a value, an attribute, a function call, EXISTS, NOT, - or (');
  }
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** Go's strconv.ParseInt(s, 10, 32): an optional sign and digits; out of range gives the nearest bound. */
function parseInt32(s: string): { value: number; error?: string } {
  if (!/^[+-]?[0-9]+$/.test(s))
    return { value: 0, error: `strconv.ParseInt: parsing ${JSON.stringify(s)}: invalid syntax` };
  const n = Number(s);
  if (n > INT32_MAX || n < INT32_MIN) {
    return {
      value: n > 0 ? INT32_MAX : INT32_MIN,
      error: `strconv.ParseInt: parsing ${JSON.stringify(s)}: value out of range`,
    };
  }
  return { value: n | 0 };
}

/** Integer literals must fit in 32 bits: sdk-go reports anything else as a parse error. */
function integerLiteral(t: Token): number {
  const r = parseInt32(t.text);
  if (r.error !== undefined) throw new CesqlParseError(`${r.error} at position ${t.pos}`, t.pos);
  return r.value;
}

/** Parses a CESQL v1 expression; throws CesqlParseError. Function names are resolved when evaluated (as sdk-go). */
export function parseCesql(text: string): CesqlExpression {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > CESQL_MAX_BYTES) {
    throw new CesqlParseError(`expression is ${bytes} bytes long, more than the limit of ${CESQL_MAX_BYTES}`, 0);
  }
  return new Parser(tokenize(text)).parse();
}

// ---------------------------------------------------------------------------------------------------------
// Casting (spec 3.7, sdk-go utils.Cast). Every cast among the three types is defined; a failed one still has a
// value (0 or false, or the nearest bound for an integer out of range).

type CesqlType = 'string' | 'integer' | 'boolean';
type Outcome = { value: CesqlValue; error?: CesqlError };

const typeOf = (v: CesqlValue): CesqlType =>
  typeof v === 'string' ? 'string' : typeof v === 'number' ? 'integer' : 'boolean';

function cast(v: CesqlValue, to: CesqlType): Outcome {
  if (typeOf(v) === to) return { value: v };
  switch (to) {
    case 'string':
      return { value: String(v) };
    case 'integer': {
      if (typeof v === 'boolean') return { value: v ? 1 : 0 };
      const r = parseInt32(String(v));
      if (r.error === undefined) return { value: r.value };
      return { value: r.value, error: new CesqlError('cast', `cannot cast from String to Integer: ${r.error}`) };
    }
    case 'boolean': {
      if (typeof v === 'number') return { value: v !== 0 };
      const lower = String(v).toLowerCase();
      if (lower === 'true' || lower === 'false') return { value: lower === 'true' };
      return { value: false, error: new CesqlError('cast', `cannot cast String to Boolean, actual value: ${v}`) };
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Built-in functions (spec 3.5, sdk-go sql/v2/function). String functions work on UTF-8 bytes, as Go's len and
// slicing do: LENGTH('é') is 2, and LEFT/RIGHT/SUBSTRING can cut a character (its bytes become U+FFFD).

type ParamType = CesqlType | 'any';
interface Builtin {
  params: readonly ParamType[];
  variadic?: ParamType;
  returns: ParamType;
  run: (args: CesqlValue[]) => Outcome;
}

const utf8 = (s: CesqlValue): Buffer => Buffer.from(String(s), 'utf8');
const fnError = (message: string, value: CesqlValue): Outcome => ({
  value,
  error: new CesqlError('functionEvaluation', message),
});

// Go's unicode.IsSpace, which strings.TrimSpace uses (JS's trim() also takes U+FEFF and not U+0085).
const GO_SPACE = '[\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const TRIM = new RegExp(`^${GO_SPACE}+|${GO_SPACE}+$`, 'g');

/** Go maps case rune by rune; a JS mapping that would change the length (ß → SS) is left out, as Go does. */
const mapRunes = (s: string, f: (c: string) => string): string =>
  Array.from(s, (c) => {
    const m = f(c);
    return Array.from(m).length === 1 ? m : c;
  }).join('');

/** SUBSTRING's start: 1-based, negative from the end, 0 gives ''; out of range is an error. */
function substring(s: CesqlValue, pos: number, length?: number): Outcome {
  const b = utf8(s);
  if (pos === 0) return { value: '' };
  if (pos < -b.length || pos > b.length) return fnError(`SUBSTRING invalid pos argument: ${pos}`, '');
  const begin = pos < 0 ? b.length + pos : pos - 1;
  if (length === undefined) return { value: b.subarray(begin).toString('utf8') };
  // sdk-go slices with a negative length and panics; the spec makes it an error with ''.
  if (length < 0) return fnError(`SUBSTRING invalid len argument: ${length}`, '');
  return { value: b.subarray(begin, Math.min(begin + length, b.length)).toString('utf8') };
}

const BUILTINS: Readonly<Record<string, readonly Builtin[]>> = {
  INT: [{ params: ['any'], returns: 'integer', run: ([x]) => cast(x ?? 0, 'integer') }],
  BOOL: [{ params: ['any'], returns: 'boolean', run: ([x]) => cast(x ?? false, 'boolean') }],
  STRING: [{ params: ['any'], returns: 'string', run: ([x]) => cast(x ?? '', 'string') }],
  IS_INT: [{ params: ['any'], returns: 'boolean', run: ([x]) => ({ value: !cast(x ?? 0, 'integer').error }) }],
  IS_BOOL: [{ params: ['any'], returns: 'boolean', run: ([x]) => ({ value: !cast(x ?? false, 'boolean').error }) }],
  ABS: [
    {
      params: ['integer'],
      returns: 'integer',
      run: ([x]) =>
        x === INT32_MIN
          ? { value: INT32_MAX, error: new CesqlError('math', 'integer overflow while computing ABS') }
          : { value: Math.abs(Number(x)) },
    },
  ],
  LENGTH: [{ params: ['string'], returns: 'integer', run: ([s]) => ({ value: utf8(s ?? '').length }) }],
  CONCAT: [{ params: [], variadic: 'string', returns: 'string', run: (args) => ({ value: args.join('') }) }],
  CONCAT_WS: [
    {
      params: ['string'],
      variadic: 'string',
      returns: 'string',
      run: ([sep, ...rest]) => ({ value: rest.join(String(sep)) }),
    },
  ],
  LOWER: [
    { params: ['string'], returns: 'string', run: ([s]) => ({ value: mapRunes(String(s), (c) => c.toLowerCase()) }) },
  ],
  UPPER: [
    { params: ['string'], returns: 'string', run: ([s]) => ({ value: mapRunes(String(s), (c) => c.toUpperCase()) }) },
  ],
  TRIM: [{ params: ['string'], returns: 'string', run: ([s]) => ({ value: String(s).replace(TRIM, '') }) }],
  LEFT: [
    {
      params: ['string', 'integer'],
      returns: 'string',
      run: ([s, n]) => {
        const b = utf8(s ?? '');
        const y = Number(n);
        if (y > b.length) return { value: String(s) };
        if (y < 0) return fnError(`LEFT y argument is < 0: ${y}`, String(s));
        return { value: b.subarray(0, y).toString('utf8') };
      },
    },
  ],
  RIGHT: [
    {
      params: ['string', 'integer'],
      returns: 'string',
      run: ([s, n]) => {
        const b = utf8(s ?? '');
        const y = Number(n);
        if (y > b.length) return { value: String(s) };
        if (y < 0) return fnError(`RIGHT y argument is < 0: ${y}`, String(s));
        return { value: b.subarray(b.length - y).toString('utf8') };
      },
    },
  ],
  SUBSTRING: [
    { params: ['string', 'integer'], returns: 'string', run: ([s, p]) => substring(s ?? '', Number(p)) },
    {
      params: ['string', 'integer', 'integer'],
      returns: 'string',
      run: ([s, p, l]) => substring(s ?? '', Number(p), Number(l)),
    },
  ],
};

/** Exact arity first, else a variadic overload whose fixed parameters fit (sdk-go's resolver). */
function resolve(name: string, arity: number): Builtin | undefined {
  const overloads = BUILTINS[name] ?? [];
  return (
    overloads.find((f) => !f.variadic && f.params.length === arity) ??
    overloads.find((f) => f.variadic && f.params.length <= arity)
  );
}

const ZERO: Record<ParamType, CesqlValue> = { string: '', integer: 0, boolean: false, any: false };

// ---------------------------------------------------------------------------------------------------------
// Evaluation. A failure is thrown from the node where it happens, with that node's value; every enclosing node
// would return its own zero value, so the expression's value is the failing node's when it is the root and the
// root's zero value otherwise.

class Failure {
  constructor(
    readonly error: CesqlError,
    readonly node: CesqlExpression,
    readonly value: CesqlValue,
  ) {}
}

function zeroOf(e: CesqlExpression): CesqlValue {
  switch (e.kind) {
    case 'negate':
      return 0;
    case 'binary':
      return ['+', '-', '*', '/', '%'].includes(e.op) ? 0 : false;
    case 'call':
      return ZERO[resolve(e.name, e.args.length)?.returns ?? 'any'];
    default:
      return false;
  }
}

function castOrFail(v: CesqlValue, to: CesqlType, node: CesqlExpression): CesqlValue {
  const r = cast(v, to);
  if (r.error) throw new Failure(r.error, node, zeroOf(node));
  return r.value;
}

/** Attribute lookup; a value that is not a CESQL type never occurs (binary-mode events are strings). */
function attribute(event: CesqlEvent, name: string): CesqlValue | undefined {
  return Object.prototype.hasOwnProperty.call(event, name) ? event[name] : undefined;
}

// The required attributes always exist (spec 3.4.4): the event is assumed valid.
const REQUIRED = new Set(['specversion', 'id', 'source', 'type']);

function evaluate(e: CesqlExpression, event: CesqlEvent): CesqlValue {
  switch (e.kind) {
    case 'literal':
      return e.value;
    case 'attribute': {
      const v = attribute(event, e.name);
      if (v === undefined) throw new Failure(new CesqlError('missingAttribute', e.name), e, false);
      return v;
    }
    case 'exists':
      return REQUIRED.has(e.name) || attribute(event, e.name) !== undefined;
    case 'not':
      return !castOrFail(evaluate(e.operand, event), 'boolean', e);
    case 'negate':
      return -(castOrFail(evaluate(e.operand, event), 'integer', e) as number) | 0;
    case 'like': {
      const s = castOrFail(evaluate(e.operand, event), 'string', e);
      return like(utf8(s), e.pattern);
    }
    case 'in': {
      // The set is cast to the left value's type, element by element, stopping at the first match.
      const left = evaluate(e.operand, event);
      for (const item of e.set) {
        if (castOrFail(evaluate(item, event), typeOf(left), e) === left) return true;
      }
      return false;
    }
    case 'binary':
      return binary(e, event);
    case 'call':
      return call(e, event);
  }
}

function binary(e: Extract<CesqlExpression, { kind: 'binary' }>, event: CesqlEvent): CesqlValue {
  if (e.op === 'AND' || e.op === 'OR' || e.op === 'XOR') {
    // AND and OR short-circuit (spec 3.4.2): the right side is not evaluated, so its errors do not count.
    const l = castOrFail(evaluate(e.left, event), 'boolean', e);
    if (e.op === 'AND' && !l) return false;
    if (e.op === 'OR' && l) return true;
    const r = castOrFail(evaluate(e.right, event), 'boolean', e);
    return e.op === 'XOR' ? l !== r : r;
  }
  const left = evaluate(e.left, event);
  const right = evaluate(e.right, event);
  if (e.op === '=' || e.op === '!=') {
    // The left value is cast to the right one's type: TRUE = 'TRUE' compares 'true' with 'TRUE' (false).
    return (castOrFail(left, typeOf(right), e) === right) === (e.op === '=');
  }
  const x = castOrFail(left, 'integer', e) as number;
  const y = castOrFail(right, 'integer', e) as number;
  switch (e.op) {
    case '<':
      return x < y;
    case '<=':
      return x <= y;
    case '>':
      return x > y;
    case '>=':
      return x >= y;
    // 32-bit two's-complement arithmetic, wrapping on overflow as Go's int32 does.
    case '+':
      return (x + y) | 0;
    case '-':
      return (x - y) | 0;
    case '*':
      return Math.imul(x, y);
    case '/':
    case '%':
      if (y === 0) throw new Failure(new CesqlError('math', 'division by zero'), e, 0);
      return (e.op === '/' ? Math.trunc(x / y) : x % y) | 0;
  }
}

function call(e: Extract<CesqlExpression, { kind: 'call' }>, event: CesqlEvent): CesqlValue {
  const fn = resolve(e.name, e.args.length);
  if (!fn) throw new Failure(new CesqlError('missingFunction', e.name), e, false);
  const args = e.args.map((a, i) => {
    const type = fn.params[i] ?? fn.variadic ?? 'any';
    const v = evaluate(a, event);
    return type === 'any' ? v : castOrFail(v, type, e);
  });
  const r = fn.run(args);
  if (r.error) throw new Failure(r.error, e, r.value);
  return r.value;
}

/**
 * sdk-go's LIKE matcher, byte for byte: `%` is any run, `_` one byte, and `\%` / `\_` match the literal
 * character (a backslash before anything else is itself). Greedy with one backtrack point, so linear-ish.
 */
function like(text: Uint8Array, pattern: Uint8Array): boolean {
  const BACKSLASH = 0x5c;
  const PERCENT = 0x25;
  const UNDERSCORE = 0x5f;
  let t = 0;
  let p = 0;
  let star = -1;
  let mark = 0;
  if (pattern.length === 0) return text.length === 0;
  while (t < text.length) {
    const pc = pattern[p];
    const next = pattern[p + 1];
    if (pc === BACKSLASH && (next === UNDERSCORE || next === PERCENT) && next === text[t]) {
      p += 2;
      t++;
    } else if (p < pattern.length && (pc === UNDERSCORE || pc === text[t])) {
      p++;
      t++;
    } else if (pc === PERCENT) {
      star = p;
      mark = t;
      p++;
    } else if (star !== -1) {
      p = star + 1;
      mark++;
      t = mark;
    } else return false;
  }
  while (p < pattern.length) if (pattern[p++] !== PERCENT) return false;
  return true;
}

/** The expression's value and, when evaluation failed, the (first) error — sdk-go's `Evaluate`. */
export function evaluateCesqlValue(
  expr: CesqlExpression,
  event: CesqlEvent,
): { value: CesqlValue; error?: CesqlError } {
  try {
    return { value: evaluate(expr, event) };
  } catch (e) {
    if (!(e instanceof Failure)) throw e;
    return { value: e.node === expr ? e.value : zeroOf(expr), error: e.error };
  }
}

/** The cesql filter's verdict: true only for a boolean TRUE without error (Knative fails the filter otherwise). */
export function evaluateCesql(expr: CesqlExpression, event: CesqlEvent): boolean {
  const r = evaluateCesqlValue(expr, event);
  return r.error === undefined && r.value === true;
}
