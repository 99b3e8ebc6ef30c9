// config-autoscaler in embedded mode (src/cli/config-autoscaler.ts): the cluster's settings expressed as
// per-revision annotations over a neutral Runtime config must resolve to what the Runtime would compute had it
// been built with those settings — Knative's rule, with the revision's own annotations winning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  clusterAutoscalingFromData,
  neutralRuntimeConfig,
  withClusterAutoscaling,
} from '../src/cli/config-autoscaler.js';
import { knativeAutoscalerDefaults, resolveAutoscaling, type RevisionSpec } from '../src/runtime/index.js';

const spec = (annotations: Record<string, string>, containerConcurrency = 0): RevisionSpec => ({
  namespace: 'default',
  name: 'r-00001',
  annotations,
  containerConcurrency,
  containers: [{ image: 'ghcr.io/knative/helloworld-go' }],
});

function viaEmbedded(data: Record<string, string>, s: RevisionSpec) {
  const { config } = clusterAutoscalingFromData(data);
  const rt = { ...knativeAutoscalerDefaults, ...neutralRuntimeConfig(config) };
  const r = resolveAutoscaling(withClusterAutoscaling(s, config).annotations, s.containerConcurrency ?? 0, rt);
  return {
    ...r.spec,
    initialScale: r.initialScale,
    idleBeforeZeroMs: Math.max(r.spec.stableWindowMs + r.spec.scaleToZeroGracePeriodMs, r.spec.scaleToZeroRetentionMs),
  };
}

function viaRuntimeConfig(data: Record<string, string>, s: RevisionSpec) {
  const { config } = clusterAutoscalingFromData(data);
  const r = resolveAutoscaling(s.annotations, s.containerConcurrency ?? 0, config);
  return {
    ...r.spec,
    initialScale: r.initialScale,
    idleBeforeZeroMs: Math.max(r.spec.stableWindowMs + r.spec.scaleToZeroGracePeriodMs, r.spec.scaleToZeroRetentionMs),
  };
}

const comparable = (x: ReturnType<typeof viaEmbedded>) => {
  const { scaleToZeroGracePeriodMs: _g, scaleToZeroRetentionMs: _r, ...rest } = x;
  return rest;
};

test('config-autoscaler as annotations resolves like a Runtime built with it (idle time before zero included)', () => {
  const cases: Array<[Record<string, string>, RevisionSpec]> = [
    [{}, spec({})],
    [{ 'scale-to-zero-grace-period': '2s', 'stable-window': '6s' }, spec({})],
    [{ 'scale-to-zero-grace-period': '2s', 'stable-window': '6s' }, spec({ 'autoscaling.knative.dev/window': '20s' })],
    [
      { 'scale-to-zero-grace-period': '2s' },
      spec({ 'autoscaling.knative.dev/scale-to-zero-pod-retention-period': '90s' }),
    ],
    [{ 'container-concurrency-target-default': '10', 'container-concurrency-target-percentage': '50' }, spec({}, 4)],
    [
      { 'panic-window-percentage': '20', 'panic-threshold-percentage': '300', 'initial-scale': '2' },
      spec({ 'autoscaling.knative.dev/target': '3' }),
    ],
    [{ 'enable-scale-to-zero': 'false' }, spec({ 'autoscaling.knative.dev/max-scale': '3' })],
    [{ 'container-concurrency-target-default': '10' }, spec({}, 40)],
    [{ 'requests-per-second-target-default': '50' }, spec({ 'autoscaling.knative.dev/metric': 'rps' })],
    [
      { 'requests-per-second-target-default': '50', 'container-concurrency-target-percentage': '50' },
      spec({ 'autoscaling.knative.dev/metric': 'rps', 'autoscaling.knative.dev/target': '5' }, 1),
    ],
  ];
  for (const [data, s] of cases)
    assert.deepEqual(
      comparable(viaEmbedded(data, s)),
      comparable(viaRuntimeConfig(data, s)),
      JSON.stringify({ data, a: s.annotations }),
    );
});

test('defaults and Knative key names; malformed values warn and keep the default', () => {
  const d = clusterAutoscalingFromData(undefined);
  assert.equal(d.config.stableWindowMs, 60_000);
  assert.equal(d.config.scaleToZeroGracePeriodMs, 30_000);
  assert.deepEqual(d.warnings, []);
  const bad = clusterAutoscalingFromData({ 'stable-window': 'soon', 'enable-scale-to-zero': 'maybe' });
  assert.equal(bad.config.stableWindowMs, 60_000);
  assert.equal(bad.config.enableScaleToZero, true);
  assert.equal(bad.warnings.length, 2);
  const s = withClusterAutoscaling(
    spec({}),
    clusterAutoscalingFromData({ 'scale-to-zero-grace-period': '2s', 'stable-window': '6s' }).config,
  );
  assert.equal(s.annotations?.['autoscaling.knative.dev/window'], '6000ms');
  assert.equal(s.annotations?.['autoscaling.knative.dev/scale-to-zero-pod-retention-period'], '8000ms');
  const rps = clusterAutoscalingFromData({ 'requests-per-second-target-default': '50' }).config;
  assert.equal(rps.rpsTargetDefault, 50);
  const r = resolveAutoscaling(
    withClusterAutoscaling(spec({ 'autoscaling.knative.dev/metric': 'rps' }), rps).annotations,
    0,
    knativeAutoscalerDefaults,
  );
  assert.deepEqual([r.spec.metric, r.spec.targetValue], ['rps', 35]);
  const off = withClusterAutoscaling(spec({}), clusterAutoscalingFromData({ 'enable-scale-to-zero': 'false' }).config);
  assert.equal(off.annotations?.['autoscaling.knative.dev/min-scale'], '1');
});

test('the HPA class keeps its own target and windows: config-autoscaler fills in neither', () => {
  const data = { 'stable-window': '6s', 'container-concurrency-target-default': '10' };
  const cases: Array<[Record<string, string>, { target: number; downMs: number; upMs: number }]> = [
    [{}, { target: 80, downMs: 300_000, upMs: 0 }],
    [
      { 'autoscaling.knative.dev/target': '50', 'autoscaling.knative.dev/window': '20s' },
      { target: 50, downMs: 20_000, upMs: 20_000 },
    ],
  ];
  for (const [own, want] of cases) {
    const s = spec({ 'autoscaling.knative.dev/class': 'hpa.autoscaling.knative.dev', ...own });
    const { config } = clusterAutoscalingFromData(data);
    const rt = { ...knativeAutoscalerDefaults, ...neutralRuntimeConfig(config) };
    const r = resolveAutoscaling(withClusterAutoscaling(s, config).annotations, 0, rt);
    assert.deepEqual(r.warnings, []);
    assert.equal(r.hpa?.targetUtilizationPercent, want.target, JSON.stringify(own));
    assert.equal(r.hpa?.scaleDownStabilizationMs, want.downMs);
    assert.equal(r.hpa?.scaleUpStabilizationMs, want.upMs);
  }
});
