// A small Prometheus HTTP API client: instant queries only (`POST /api/v1/query`, form-encoded so long
// batched queries never hit URL limits), a timeout per request, a cap on the response size, and typed errors.
import { PrometheusError, RolloutErrorCode } from '../errors.js';

export interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}
export interface MatrixSeries {
  metric: Record<string, string>;
  values: [number, string][];
}
export type PromData =
  | { resultType: 'vector'; result: VectorSample[] }
  | { resultType: 'matrix'; result: MatrixSeries[] }
  | { resultType: 'scalar'; result: [number, string] }
  | { resultType: 'string'; result: [number, string] };

export interface PrometheusClientOptions {
  /** Base URL, e.g. `http://127.0.0.1:9090` (a path prefix is kept). */
  url: string;
  /** Per request; Flagger uses 5 s. */
  timeoutMs?: number;
  /** Larger bodies are cut off with SLUICE_ERR_PROM_TOO_LARGE (default 8 MiB). */
  maxResponseBytes?: number;
  headers?: Record<string, string>;
  /** Called once per query sent (the controller's `sluice_analysis_queries_total`). */
  onQuery?: () => void;
}

export interface QueryOptions {
  /** Evaluation time, ms since epoch; default: Prometheus's now. */
  time?: number;
  signal?: AbortSignal;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class PrometheusClient {
  readonly #base: string;
  /** The base URL with any userinfo removed, for messages. */
  readonly #shown: string;
  readonly #timeoutMs: number;
  readonly #maxBytes: number;
  readonly #headers: Record<string, string>;
  readonly #onQuery: (() => void) | undefined;
  /** Queries sent, for tests and the benchmark. */
  queries = 0;

  constructor(opts: PrometheusClientOptions) {
    this.#base = opts.url.replace(/\/+$/, '');
    this.#shown = this.#base.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]+@/i, '$1[REDACTED]@');
    this.#timeoutMs = opts.timeoutMs ?? 5000;
    this.#maxBytes = opts.maxResponseBytes ?? 8 * 1024 * 1024;
    this.#headers = opts.headers ?? {};
    this.#onQuery = opts.onQuery;
  }

  /** Runs one instant query. Throws PrometheusError (code SLUICE_ERR_PROM_*) on any failure. */
  async query(promql: string, opts: QueryOptions = {}): Promise<PromData> {
    this.queries++;
    this.#onQuery?.();
    const form = new URLSearchParams({ query: promql });
    if (opts.time !== undefined) form.set('time', (opts.time / 1000).toFixed(3));
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
    let res: Response | undefined;
    for (let attempt = 0; !res; attempt++) {
      try {
        res = await fetch(`${this.#base}/api/v1/query`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
            ...this.#headers,
          },
          body: form,
          signal,
        });
      } catch (e) {
        // A pooled connection the server closed while idle fails at once with "other side closed": an instant
        // query is idempotent, so ask once more on a fresh connection (seen with 5,000 rollouts per batch).
        if (attempt === 0 && !signal.aborted && socketClosed(e)) continue;
        throw this.#transportError(e, promql, timeout);
      }
    }
    let text: string;
    try {
      text = await this.#readCapped(res, promql);
    } catch (e) {
      if (e instanceof PrometheusError) throw e;
      throw this.#transportError(e, promql, timeout);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (e) {
      if (res.status >= 500)
        throw new PrometheusError(
          RolloutErrorCode.PromUnavailable,
          `Prometheus answered HTTP ${res.status}: ${text.slice(0, 200)}`,
          promql,
          { status: res.status, cause: e },
        );
      throw new PrometheusError(
        RolloutErrorCode.PromBadResponse,
        `Prometheus answered HTTP ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`,
        promql,
        { status: res.status, cause: e },
      );
    }
    if (!isRecord(body))
      throw new PrometheusError(
        RolloutErrorCode.PromBadResponse,
        'Prometheus answered JSON that is not an object',
        promql,
        { status: res.status },
      );
    if (body.status === 'error') {
      const errorType = typeof body.errorType === 'string' ? body.errorType : 'unknown';
      const msg = typeof body.error === 'string' ? body.error : 'no message';
      // bad_data is the query's fault; timeout/execution/unavailable are Prometheus's (no data, not a verdict).
      const code =
        errorType === 'bad_data'
          ? RolloutErrorCode.PromQuery
          : errorType === 'timeout'
            ? RolloutErrorCode.PromTimeout
            : res.status >= 500
              ? RolloutErrorCode.PromUnavailable
              : RolloutErrorCode.PromQuery;
      throw new PrometheusError(
        code,
        `Prometheus rejected the query (${errorType}): ${msg}; query: ${promql}`,
        promql,
        { errorType, status: res.status },
      );
    }
    if (!res.ok)
      throw new PrometheusError(
        res.status >= 500 ? RolloutErrorCode.PromUnavailable : RolloutErrorCode.PromBadResponse,
        `Prometheus answered HTTP ${res.status}`,
        promql,
        { status: res.status },
      );
    const data = body.data;
    if (
      !isRecord(data) ||
      !['vector', 'matrix', 'scalar', 'string'].includes(String(data.resultType)) ||
      !Array.isArray(data.result)
    ) {
      throw new PrometheusError(
        RolloutErrorCode.PromBadResponse,
        'Prometheus answered without data.resultType/data.result',
        promql,
        { status: res.status },
      );
    }
    return data as unknown as PromData;
  }

  async #readCapped(res: Response, promql: string): Promise<string> {
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > this.#maxBytes) {
      await res.body?.cancel();
      throw new PrometheusError(
        RolloutErrorCode.PromTooLarge,
        `Prometheus response of ${declared} bytes exceeds the ${this.#maxBytes}-byte limit; narrow the query`,
        promql,
      );
    }
    if (!res.body) return '';
    const reader = res.body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > this.#maxBytes) {
        await reader.cancel();
        throw new PrometheusError(
          RolloutErrorCode.PromTooLarge,
          `Prometheus response exceeds the ${this.#maxBytes}-byte limit; narrow the query`,
          promql,
        );
      }
      chunks.push(value);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  #transportError(e: unknown, promql: string, timeout: AbortSignal): PrometheusError {
    if (timeout.aborted)
      return new PrometheusError(
        RolloutErrorCode.PromTimeout,
        `Prometheus did not answer within ${this.#timeoutMs} ms`,
        promql,
        { cause: e },
      );
    const name = e instanceof Error ? e.name : '';
    if (name === 'AbortError')
      return new PrometheusError(RolloutErrorCode.PromTimeout, 'Prometheus query aborted by the caller', promql, {
        cause: e,
      });
    const cause =
      e instanceof Error && e.cause instanceof Error ? e.cause.message : e instanceof Error ? e.message : String(e);
    return new PrometheusError(
      RolloutErrorCode.PromUnavailable,
      `cannot reach Prometheus at ${this.#shown}: ${cause}`,
      promql,
      { cause: e },
    );
  }
}

/** Whether a fetch failed because the connection was closed under it (before any response). */
function socketClosed(e: unknown): boolean {
  const cause = e instanceof Error ? (e.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? cause.code : '';
  return (
    code === 'UND_ERR_SOCKET' ||
    code === 'ECONNRESET' ||
    code === 'UND_ERR_CLOSED' ||
    (typeof cause?.message === 'string' && /other side closed/.test(cause.message))
  );
}
