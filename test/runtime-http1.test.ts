// The fast path's HTTP/1.1 syntax (src/runtime/http1.ts) as tables: which request heads it takes and what it
// forwards, Connection tokens, and where a chunked body ends whether it arrives whole or a byte at a time.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BAD,
  ChunkedScanner,
  connectionTokens,
  MORE,
  parseRequestHead,
  RequestHead,
  upstreamHead,
} from '../src/runtime/http1.js';

/** A head as parseRequestHead gets it: latin1 text without the final CRLFCRLF. */
const head = (...lines: string[]): string => lines.join('\r\n');

describe('parseRequestHead', () => {
  //[ name, head, taken by the fast path ]
  const cases: Array<[string, string, boolean]> = [
    ['origin form, one Host', head('GET /a?b=1 HTTP/1.1', 'Host: x'), true],
    ['a body with one Content-Length', head('POST / HTTP/1.1', 'Host: x', 'Content-Length: 10'), true],
    ['OWS around values, obs-text in a value', head('GET / HTTP/1.1', 'Host:x', 'X-A: \t\xe9t\xe9 \t'), true],
    ['absolute form (HTTP_PROXY)', head('GET http://x/ HTTP/1.1', 'Host: x'), false],
    ['asterisk form', head('OPTIONS * HTTP/1.1', 'Host: x'), false],
    ['HTTP/1.0', head('GET / HTTP/1.0', 'Host: x'), false],
    ['a method llhttp may not know', head('PROPFIND / HTTP/1.1', 'Host: x'), false],
    ['CONNECT', head('CONNECT x:443 HTTP/1.1', 'Host: x'), false],
    ['lower-case method', head('get / HTTP/1.1', 'Host: x'), false],
    ['no Host', head('GET / HTTP/1.1', 'X-A: 1'), false],
    ['no header at all', head('GET / HTTP/1.1'), false],
    ['two Hosts', head('GET / HTTP/1.1', 'Host: x', 'Host: y'), false],
    ['Transfer-Encoding', head('POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked'), false],
    ['Upgrade', head('GET / HTTP/1.1', 'Host: x', 'Connection: Upgrade', 'Upgrade: websocket'), false],
    ['Expect', head('POST / HTTP/1.1', 'Host: x', 'Content-Length: 1', 'Expect: 100-continue'), false],
    ['two Content-Lengths', head('POST / HTTP/1.1', 'Host: x', 'Content-Length: 1', 'Content-Length: 1'), false],
    ['a Content-Length that is not decimal', head('POST / HTTP/1.1', 'Host: x', 'Content-Length: 0x10'), false],
    ['a negative Content-Length', head('POST / HTTP/1.1', 'Host: x', 'Content-Length: -1'), false],
    ['obs-fold', head('GET / HTTP/1.1', 'Host: x', 'X-A: 1', ' folded'), false],
    ['space before the colon', head('GET / HTTP/1.1', 'Host : x'), false],
    ['a control character in a value', head('GET / HTTP/1.1', 'Host: x', 'X-A: a\x01b'), false],
    ['a bare LF', head('GET / HTTP/1.1', 'Host: x\nX-A: 1'), false],
    ['a leading empty line', head('', 'GET / HTTP/1.1', 'Host: x'), false],
    ['a non-ASCII target', head('GET /\xe9 HTTP/1.1', 'Host: x'), false],
    ['a header without a colon', head('GET / HTTP/1.1', 'Host: x', 'nonsense'), false],
  ];
  for (const [name, text, want] of cases)
    test(name, () => assert.equal(parseRequestHead(text, new RequestHead()), want));

  test('joins repeated tags and X-Forwarded-For as Node does, and keeps only end-to-end lines', () => {
    const h = new RequestHead();
    assert.ok(
      parseRequestHead(
        head(
          'GET /p HTTP/1.1',
          'host: Web.Example.com:80',
          'Knative-Serving-Tag: a',
          'knative-serving-tag: b',
          'X-Forwarded-For: 1.1.1.1',
          'x-forwarded-for: 2.2.2.2',
          'X-Forwarded-Proto: https',
          'Connection: keep-alive, X-Hop',
          'X-Hop: 1',
          'TE: trailers',
          'Keep-Alive: 5',
          'Content-Length: 0',
        ),
        h,
      ),
    );
    assert.equal(h.host, 'Web.Example.com:80');
    assert.equal(h.tag, 'a, b');
    assert.equal(h.forwardedFor, '1.1.1.1, 2.2.2.2');
    assert.equal(h.contentLength, 0);
    const conn = connectionTokens(h.connection ?? '');
    assert.equal(
      upstreamHead(h, conn.names, '127.0.0.1'),
      head(
        'GET /p HTTP/1.1',
        'host: Web.Example.com:80',
        'Knative-Serving-Tag: a',
        'knative-serving-tag: b',
        'Content-Length: 0',
        'X-Forwarded-For: 1.1.1.1, 2.2.2.2, 127.0.0.1',
        'X-Forwarded-Proto: http',
        '',
        '',
      ),
    );
  });
});

describe('connectionTokens', () => {
  //[ Connection value, says close, other names ]
  const cases: Array<[string, boolean, string[] | undefined]> = [
    ['close', true, undefined],
    ['Keep-Alive', false, undefined],
    ['keep-alive, X-Private ,, Close', true, ['x-private']],
    // The headers that frame or route the message stay, whatever Connection lists.
    ['Host, Content-Length, Transfer-Encoding', false, undefined],
  ];
  for (const [value, close, names] of cases)
    test(JSON.stringify(value), () => assert.deepEqual(connectionTokens(value), { close, names }));
});

describe('ChunkedScanner', () => {
  //[ name, body (the bytes after the head), where the body ends (or BAD) ]
  const cases: Array<[string, string, number | 'end']> = [
    ['one chunk', '5\r\nhello\r\n0\r\n\r\n', 'end'],
    ['upper- and lower-case hex sizes', 'A\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n', 'end'],
    ['extensions, quoted and after BWS', '5;a=b;c="d;e"\r\nhello\r\n5 ;x\r\nworld\r\n0;last\r\n\r\n', 'end'],
    ['trailers', '1\r\nx\r\n0\r\nX-Sum: 1\r\nX-Other: 2\r\n\r\n', 'end'],
    ['only the last chunk', '0\r\n\r\n', 'end'],
    ['the next message follows', '0\r\n\r\nHTTP/1.1 200 OK\r\n', 5],
    ['a size that is not hex', 'g\r\n', BAD],
    ['no size', '\r\n', BAD],
    ['data longer than its size', '2\r\nabc\r\n', BAD],
    ['LF without CR after a size', '2\nab\r\n', BAD],
    ['a size past 12 hex digits', '1000000000000\r\n', BAD],
  ];
  for (const [name, body, want] of cases) {
    const bytes = Buffer.from(body, 'latin1');
    const expected = want === 'end' ? bytes.length : want;
    test(`${name}: whole`, () => assert.equal(new ChunkedScanner().scan(bytes, 0), expected));
    test(`${name}: a byte at a time`, () => {
      const s = new ChunkedScanner();
      let got: number = MORE;
      for (let i = 0; i < bytes.length && got === MORE; i++) {
        const r = s.scan(bytes.subarray(i, i + 1), 0);
        got = r >= 0 ? i + r : r;
      }
      assert.equal(got, expected);
    });
  }

  test('an incomplete body asks for more, from an offset', () => {
    const b = Buffer.from('HEAD5\r\nhel', 'latin1');
    assert.equal(new ChunkedScanner().scan(b, 4), MORE);
  });
});
