// serving/: Knative Serving v1 semantics as pure functions — admission (defaults + validation with Knative's
// exact messages), naming, the make* builders, traffic resolution, gradual rollout steps, domains and
// condition lifecycles. No I/O, no clocks: time is always a parameter.

export * from './types.js';
export * from './field-error.js';
export * from './keys.js';
export * from './admission.js';
export * from './defaults.js';
export { validateService } from './service-validation.js';
export { validateConfiguration } from './configuration-validation.js';
export { validateRoute } from './route-validation.js';
export { validateRevision, validateRevisionTemplate, verifyTemplateNameChange } from './revision-validation.js';
export { validateTrafficList, validateTrafficTarget } from './traffic-validation.js';
export * from './names.js';
export * from './resources/configuration.js';
export * from './resources/route.js';
export * from './resources/revision.js';
export * from './resources/owner-ref.js';
export * from './traffic.js';
export * from './target-errors.js';
export * from './domains.js';
export * from './rollout.js';
export * from './route-reconcile.js';
export * from './conditions.js';
export * from './route-lifecycle.js';
export * from './service-lifecycle.js';
export * from './configuration-lifecycle.js';
export * from './revision-lifecycle.js';
export { parseGoDuration, formatGoDuration } from './go-duration.js';
export { runConformanceCase } from './conformance.js';
export * from './cluster-config.js';
