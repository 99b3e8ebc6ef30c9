// Analysis that is right by default through `sluice start --metrics-family knative-otel`: the router exports
// Knative ≥ 1.19's OpenTelemetry series, the controller detects them (auto); the scenario is in
// support/analysis-e2e.ts.
import { analysisDefaultsScenario } from './support/analysis-e2e.js';

analysisDefaultsScenario('knative-otel');
