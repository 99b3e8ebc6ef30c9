// rollout/analysis: asks Prometheus (batched: one query per metric template for all rollouts) and judges
// the answers (threshold, Mann-Whitney U). Judges are pure; the client and the engine do I/O.
export { PrometheusClient, type PrometheusClientOptions, type PromData, type QueryOptions } from './prometheus.js';
export { AnalysisEngine, type AnalysisEngineOptions, type AnalysisRequest } from './engine.js';
export {
  planBatch,
  renderBatch,
  alternation,
  seriesFor,
  seriesOfMember,
  KNATIVE_LABELS,
  type BatchPlan,
  type BatchLabels,
} from './batch.js';
export { judgeThreshold, type ThresholdRange } from './judges/threshold.js';
export {
  judgeMannWhitney,
  mannWhitneyU,
  hodgesLehmann,
  normalCdf,
  normalQuantile,
  type MannWhitneyConfig,
} from './judges/mann-whitney.js';
export { scanTemplate, renderTemplate, TEMPLATE_VARIABLES, type TemplateVars } from './template.js';
export type * from './result.js';
