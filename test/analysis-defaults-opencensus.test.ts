// Analysis that is right by default through `sluice start` with the router exporting Knative ≤ 1.18's series
// (with a zero series for every response-code class); the scenario is in support/analysis-e2e.ts.
import { analysisDefaultsScenario } from './support/analysis-e2e.js';

analysisDefaultsScenario('knative-opencensus');
