// eventing/: Knative Eventing v1 semantics as pure functions — admission of Broker, Trigger and SinkBinding
// (Knative's defaults and messages), trigger filters, delivery back-off and retry rules, and the statuses the
// MT channel-based broker reconcilers write. The reconcilers (eventing/reconciler/) and the broker data plane
// (eventing/dataplane/) do the I/O.
export * from './types.js';
export * from './keys.js';
export * from './iso-period.js';
export * from './delivery.js';
export * from './destination.js';
export * from './filter.js';
export * from './cesql.js';
export * from './broker-defaults.js';
export * from './broker-validation.js';
export * from './trigger-defaults.js';
export * from './trigger-validation.js';
export * from './sinkbinding.js';
export * from './admission.js';
export * from './broker-lifecycle.js';
export * from './trigger-lifecycle.js';
export { runEventingCase, EVENTING_CASE_KINDS } from './conformance.js';
