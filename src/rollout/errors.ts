// Typed errors of the rollout engine. Callers match on `code`; the codes are stable (docs/errors.md).
import { SluiceError, type SluiceErrorOptions } from '../util/errors.js';

export const RolloutErrorCode = {
  /** A policy file is not valid YAML. */
  PolicyYaml: 'SLUICE_ERR_POLICY_YAML',
  /** A policy breaks the CRD's openAPIV3Schema (type, enum, pattern, unknown field...). */
  PolicySchema: 'SLUICE_ERR_POLICY_SCHEMA',
  /** A policy is well-formed but means something impossible (weights going down, unknown template variable...). */
  PolicyInvalid: 'SLUICE_ERR_POLICY_INVALID',
  /** A warning, not an error: a ratio query whose numerator can select nothing (empty instead of 0). */
  PolicyUnguardedRatio: 'SLUICE_WARN_POLICY_UNGUARDED_RATIO',
  /** The CRD file with the schema could not be found or read. */
  PolicySchemaMissing: 'SLUICE_ERR_POLICY_SCHEMA_MISSING',
  /** Prometheus rejected a query (bad PromQL, bad parameters); carries the query and Prometheus's message. */
  PromQuery: 'SLUICE_ERR_PROM_QUERY',
  /** Prometheus could not be reached (connection refused, DNS, reset). */
  PromUnavailable: 'SLUICE_ERR_PROM_UNAVAILABLE',
  /** Prometheus did not answer within the timeout. */
  PromTimeout: 'SLUICE_ERR_PROM_TIMEOUT',
  /** The response body exceeded the configured size limit. */
  PromTooLarge: 'SLUICE_ERR_PROM_TOO_LARGE',
  /** Prometheus answered something that is not its HTTP API's JSON. */
  PromBadResponse: 'SLUICE_ERR_PROM_BAD_RESPONSE',
  /** A metric returned several series for one revision; the template must aggregate to one value. */
  AnalysisAmbiguous: 'SLUICE_ERR_ANALYSIS_AMBIGUOUS',
} as const;
export type RolloutErrorCode = (typeof RolloutErrorCode)[keyof typeof RolloutErrorCode];

/**
 * One thing wrong with one policy. `message` is `field.path: what is wrong`; `where()` prefixes
 * `file:line:column`, giving `policies/web.yaml:14:7: spec.analysis.interval: ...`.
 */
export class PolicyError extends SluiceError {
  /** What is wrong, without the path. */
  readonly detail: string;
  constructor(code: RolloutErrorCode, path: string, detail: string, opts: SluiceErrorOptions = {}) {
    super(code, path ? `${path}: ${detail}` : detail, { ...opts, path });
    this.detail = detail;
  }
  override toString(): string {
    return this.where();
  }
}

/** Raised by the Prometheus client. `query` is the PromQL that was sent. */
export class PrometheusError extends SluiceError {
  readonly query: string;
  /** Prometheus's own `errorType` (bad_data, execution, timeout...) when it gave one. */
  readonly errorType: string | undefined;
  readonly status: number | undefined;
  constructor(
    code: RolloutErrorCode,
    message: string,
    query: string,
    opts: SluiceErrorOptions & { errorType?: string; status?: number } = {},
  ) {
    super(code, message, opts);
    this.query = query;
    this.errorType = opts.errorType;
    this.status = opts.status;
  }
}
