// HTTP/1.1 message syntax for the router's fast path (fast-path.ts), as pure functions over latin1 text and
// bytes: request heads split and checked (anything unusual is refused, so Node's own parser gets it), the head
// forwarded to a process, Connection header tokens, and the chunked framing of an answer relayed as is.
import { HOP_BY_HOP, TAG_HEADER } from './proxy.js';

/** Methods llhttp knows that carry an ordinary request; anything else (CONNECT, WebDAV, …) goes to Node. */
export const FAST_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);

/** RFC 9110 tchar, for header names. */
export const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
  TCHAR[c.charCodeAt(0)] = 1;

/** One request head, split up; one per connection, reused for each of its requests. */
export class RequestHead {
  method = '';
  target = '';
  /** Header lines to forward as received, and their lower-case names. */
  readonly lines: string[] = [];
  readonly names: string[] = [];
  count = 0;
  host = '';
  hosts = 0;
  contentLength = 0;
  contentLengths = 0;
  /** Every Connection header's value, joined with ','. */
  connection: string | undefined;
  tag: string | undefined;
  forwardedFor: string | undefined;

  reset(): void {
    this.count = 0;
    this.hosts = 0;
    this.contentLength = 0;
    this.contentLengths = 0;
    this.connection = undefined;
    this.tag = undefined;
    this.forwardedFor = undefined;
  }
}

export function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** A header value's characters: HTAB, visible ASCII, SP and obs-text; no other control character. */
export function validValue(s: string, from: number, to: number): boolean {
  for (let k = from; k < to; k++) {
    const c = s.charCodeAt(k);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return false;
  }
  return true;
}

/** Decimal digits only (at most 15, a safe integer), as llhttp accepts; -1 otherwise. */
export function parseLength(v: string): number {
  if (v.length === 0 || v.length > 15) return -1;
  let n = 0;
  for (let k = 0; k < v.length; k++) {
    const d = v.charCodeAt(k) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** One header line's bounds in a head string, as `scanHeaderLine` found them. */
export class HeaderLine {
  /** Where its CRLF starts (or the head's end). */
  end = 0;
  colon = 0;
  /** The value without the whitespace around it: [valueStart, valueEnd). */
  valueStart = 0;
  valueEnd = 0;
}

/**
 * Scan the header line at `i` of a head (latin1): a token, a colon, a value without bare CR or LF
 * (RFC 9110 §5.5; a bare CR or LF would split the head a client or process parses). False when it is not one,
 * obs-fold (a line starting with SP/HTAB) and whitespace before the colon included.
 */
export function scanHeaderLine(s: string, i: number, line: HeaderLine): boolean {
  let e = s.indexOf('\r\n', i);
  if (e < 0) e = s.length;
  let colon = i;
  for (; colon < e; colon++) {
    const c = s.charCodeAt(colon);
    if (c === 0x3a) break;
    if (c > 0x7f || TCHAR[c] !== 1) return false;
  }
  if (colon === i || colon === e) return false;
  let vs = colon + 1;
  let ve = e;
  while (vs < ve && isOws(s.charCodeAt(vs))) vs++;
  while (ve > vs && isOws(s.charCodeAt(ve - 1))) ve--;
  if (!validValue(s, vs, ve)) return false;
  line.end = e;
  line.colon = colon;
  line.valueStart = vs;
  line.valueEnd = ve;
  return true;
}

/** The one line scanned at a time (the parsers are synchronous). */
const LINE = new HeaderLine();

/**
 * Parse a request head (latin1, without its final CRLFCRLF) into `h`. False when the request is not simple
 * enough for the fast path: the caller hands it to Node, which answers it or rejects it.
 */
export function parseRequestHead(s: string, h: RequestHead): boolean {
  const sp1 = s.indexOf(' ');
  if (sp1 <= 0) return false;
  const method = s.slice(0, sp1);
  if (!FAST_METHODS.has(method)) return false;
  const sp2 = s.indexOf(' ', sp1 + 1);
  // Origin form only: absolute form (`http://…`, a revision's HTTP_PROXY request) and `*` go to Node.
  if (sp2 < 0 || s.charCodeAt(sp1 + 1) !== 0x2f) return false;
  for (let k = sp1 + 2; k < sp2; k++) {
    const c = s.charCodeAt(k);
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  const eol = s.indexOf('\r\n', sp2);
  if (eol !== sp2 + 9 || !s.startsWith('HTTP/1.1', sp2 + 1)) return false;
  h.reset();
  h.method = method;
  h.target = s.slice(sp1 + 1, sp2);
  const n = s.length;
  let i = eol + 2;
  while (i < n) {
    if (!scanHeaderLine(s, i, LINE)) return false;
    const { end: e, colon, valueStart: vs, valueEnd: ve } = LINE;
    const name = s.slice(i, colon).toLowerCase();
    let forward = true;
    switch (name) {
      case 'host':
        h.hosts++;
        h.host = s.slice(vs, ve);
        break;
      case 'content-length':
        if (h.contentLengths++ > 0) return false;
        h.contentLength = parseLength(s.slice(vs, ve));
        if (h.contentLength < 0) return false;
        break;
      case 'transfer-encoding':
      case 'upgrade':
      case 'expect':
        return false;
      case 'connection':
        h.connection = h.connection === undefined ? s.slice(vs, ve) : `${h.connection},${s.slice(vs, ve)}`;
        forward = false;
        break;
      case TAG_HEADER:
        // Node joins repeated headers with ", "; the slow path's pick sees that joined value.
        h.tag = h.tag === undefined ? s.slice(vs, ve) : `${h.tag}, ${s.slice(vs, ve)}`;
        break;
      case 'x-forwarded-for':
        h.forwardedFor = h.forwardedFor === undefined ? s.slice(vs, ve) : `${h.forwardedFor}, ${s.slice(vs, ve)}`;
        forward = false;
        break;
      case 'x-forwarded-proto':
        forward = false;
        break;
      default:
        forward = !HOP_BY_HOP.has(name);
    }
    if (forward) {
      h.lines[h.count] = s.slice(i, e);
      h.names[h.count] = name;
      h.count++;
    }
    i = e + 2;
  }
  return h.hosts === 1;
}

/**
 * The Connection header's tokens: whether it says `close`, and the other header names it lists (to drop, RFC
 * 9110 §7.6.1), or undefined when there are none.
 */
export function connectionTokens(value: string): { close: boolean; names: string[] | undefined } {
  let close = false;
  let names: string[] | undefined;
  for (const raw of value.split(',')) {
    const t = raw.trim().toLowerCase();
    if (t === 'close') close = true;
    // Never drop the headers that frame or route the message, whatever a Connection header says.
    else if (t !== '' && t !== 'keep-alive' && t !== 'host' && t !== 'content-length' && t !== 'transfer-encoding')
      (names ??= []).push(t);
  }
  return { close, names };
}

/** The head sent to the process: the request line, the client's end-to-end headers, X-Forwarded-For/-Proto. */
export function upstreamHead(h: RequestHead, drop: string[] | undefined, remote: string): string {
  let out = `${h.method} ${h.target} HTTP/1.1\r\n`;
  for (let k = 0; k < h.count; k++) {
    if (drop === undefined || !drop.includes(h.names[k] ?? '')) out += `${h.lines[k]}\r\n`;
  }
  const xff = h.forwardedFor ? `${h.forwardedFor}, ${remote}` : remote;
  return `${out}X-Forwarded-For: ${xff}\r\nX-Forwarded-Proto: http\r\n\r\n`;
}

// ---- chunked bodies ----

const CS_SIZE = 0;
const CS_EXT = 1;
const CS_SIZE_LF = 2;
const CS_DATA = 3;
const CS_DATA_CR = 4;
const CS_DATA_LF = 5;
const CS_TRAILER_START = 6;
const CS_TRAILER = 7;
const CS_TRAILER_LF = 8;
const CS_END_LF = 9;
/** scan(): the body goes on past this buffer. */
export const MORE = -1;
/** scan(): not valid chunked framing. */
export const BAD = -2;

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/**
 * Follows chunked framing (sizes, extensions, data, trailers, the last chunk) over bytes relayed unchanged,
 * only to find where the body ends.
 */
export class ChunkedScanner {
  #state = CS_SIZE;
  #size = 0;
  #digits = 0;

  reset(): void {
    this.#state = CS_SIZE;
    this.#size = 0;
    this.#digits = 0;
  }

  /** The index just past the body's end in `b`, MORE when it goes on past `b`, or BAD. */
  scan(b: Buffer, from: number): number {
    const n = b.length;
    let i = from;
    while (i < n) {
      const c = b[i] ?? 0;
      switch (this.#state) {
        case CS_DATA: {
          const take = Math.min(this.#size, n - i);
          i += take;
          this.#size -= take;
          if (this.#size === 0) this.#state = CS_DATA_CR;
          continue;
        }
        case CS_SIZE: {
          const d = hexDigit(c);
          if (d >= 0) {
            // 12 hex digits is 256 TiB: more is an attack or garbage.
            if (++this.#digits > 12) return BAD;
            this.#size = this.#size * 16 + d;
          } else if (this.#digits === 0) return BAD;
          else if (c === 0x0d) this.#state = CS_SIZE_LF;
          else if (c === 0x3b || isOws(c)) this.#state = CS_EXT;
          else return BAD;
          break;
        }
        case CS_EXT:
          if (c === 0x0d) this.#state = CS_SIZE_LF;
          else if (c === 0x0a) return BAD;
          break;
        case CS_SIZE_LF:
          if (c !== 0x0a) return BAD;
          this.#state = this.#size === 0 ? CS_TRAILER_START : CS_DATA;
          this.#digits = 0;
          break;
        case CS_DATA_CR:
          if (c !== 0x0d) return BAD;
          this.#state = CS_DATA_LF;
          break;
        case CS_DATA_LF:
          if (c !== 0x0a) return BAD;
          this.#state = CS_SIZE;
          break;
        case CS_TRAILER_START:
          this.#state = c === 0x0d ? CS_END_LF : CS_TRAILER;
          break;
        case CS_TRAILER:
          if (c === 0x0d) this.#state = CS_TRAILER_LF;
          else if (c === 0x0a) return BAD;
          break;
        case CS_TRAILER_LF:
          if (c !== 0x0a) return BAD;
          this.#state = CS_TRAILER_START;
          break;
        case CS_END_LF:
          if (c !== 0x0a) return BAD;
          this.reset();
          return i + 1;
      }
      i++;
    }
    return MORE;
  }
}

/** Header lines (each ending in CRLF) minus those whose lower-case name is in `names`. */
export function removeHeaders(lines: string, names: string[]): string {
  let out = '';
  for (const l of lines.split('\r\n')) {
    if (l !== '' && !names.includes(l.slice(0, l.indexOf(':')).toLowerCase())) out += `${l}\r\n`;
  }
  return out;
}
