// YAML parsing is the one costly step of decoding a request: the yaml library needs seconds for a few hundred
// kilobytes of block YAML on a busy machine, and that time would be taken from every other client on the event
// loop. Large YAML bodies are therefore parsed in a worker thread, one at a time, each with a deadline: the API
// server stays responsive to others while one client sends heavy YAML, and a body that takes longer than the
// deadline is refused with 400 naming the limit (the worker is ended and a fresh one started). Small bodies and
// JSON written as YAML (kubectl's server-side apply sends JSON) are parsed inline.
import { Worker } from 'node:worker_threads';
import { LimitError, LimitErrorCode, parseJsonBounded, parseYamlBounded } from '../util/bounded-json.js';

/** Bodies up to this size are parsed on the event loop (a few milliseconds). */
export const INLINE_YAML_BYTES = 64 * 1024;
/** Wall-clock budget of one YAML parse in the worker. */
export const YAML_PARSE_DEADLINE_MS = 5_000;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.module).then((m) => {
  parentPort.on('message', ({ id, text }) => {
    try {
      parentPort.postMessage({ id, ok: true, value: m.parseYamlBounded(text) });
    } catch (e) {
      parentPort.postMessage({ id, ok: false, limit: e instanceof m.LimitError, code: e && e.code, message: e instanceof Error ? e.message : String(e) });
    }
  });
  parentPort.postMessage({ ready: true });
});
`;

interface Reply {
  id?: number;
  ready?: boolean;
  ok?: boolean;
  value?: unknown;
  limit?: boolean;
  code?: string;
  message?: string;
}

export class YamlParser {
  #worker: Worker | undefined;
  #ready: Promise<void> | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #next = 0;
  readonly #deadlineMs: number;

  constructor(deadlineMs = YAML_PARSE_DEADLINE_MS) {
    this.#deadlineMs = deadlineMs;
  }

  /** Parses `text` (YAML, or JSON written as YAML) with the depth and alias limits; LimitError when one is broken. */
  parse(text: string): Promise<unknown> {
    const t = text.trimStart();
    if (t.startsWith('{')) {
      try {
        return Promise.resolve(parseJsonBounded(text));
      } catch (e) {
        if (e instanceof LimitError) return Promise.reject(e);
        // Not JSON after all (YAML flow mapping): the YAML parser decides.
      }
    }
    if (Buffer.byteLength(text) <= INLINE_YAML_BYTES) {
      try {
        return Promise.resolve(parseYamlBounded(text));
      } catch (e) {
        return Promise.reject(e instanceof Error ? e : new Error(String(e)));
      }
    }
    // One at a time: a second heavy body waits here, not on the event loop.
    const run = this.#queue.then(() => this.#inWorker(text));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    const w = this.#worker;
    this.#worker = undefined;
    this.#ready = undefined;
    await w?.terminate();
  }

  #start(): Promise<void> {
    if (this.#ready && this.#worker) return this.#ready;
    const w = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { module: new URL('../util/bounded-json.js', import.meta.url).href },
    });
    w.unref();
    this.#worker = w;
    this.#ready = new Promise((resolve, reject) => {
      const onMsg = (m: Reply): void => {
        if (m.ready) {
          w.off('message', onMsg);
          resolve();
        }
      };
      w.on('message', onMsg);
      w.once('error', reject);
    });
    return this.#ready;
  }

  async #inWorker(text: string): Promise<unknown> {
    await this.#start();
    const w = this.#worker!;
    const id = ++this.#next;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        w.off('message', onMsg);
        // The parse is stuck in the worker: end it; the next request gets a fresh one.
        void this.close();
        reject(
          new LimitError(
            LimitErrorCode.Time,
            `parsing the YAML body took longer than ${this.#deadlineMs} ms; the limit on parse time per request is ${this.#deadlineMs} ms (send JSON, or a smaller document)`,
          ),
        );
      }, this.#deadlineMs);
      const onMsg = (m: Reply): void => {
        if (m.id !== id) return;
        clearTimeout(timer);
        w.off('message', onMsg);
        if (m.ok) return resolve(m.value);
        const msg = m.message ?? 'invalid YAML';
        reject(m.limit ? new LimitError(m.code ?? LimitErrorCode.Depth, msg) : new Error(msg));
      };
      w.on('message', onMsg);
      w.postMessage({ id, text });
    });
  }
}
