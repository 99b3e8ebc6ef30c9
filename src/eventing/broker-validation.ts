// Broker validation with Knative's exact messages: the class annotation must be set, spec.config is a
// complete KReference (same namespace when config-br-defaults disallows others), spec.delivery is valid, and on
// update everything in spec but delivery — and the class annotation — is immutable.
import { errMissingField, FieldError } from '../serving/field-error.js';
import { brokerDefaultsFrom, type BrokerDefaults } from './broker-defaults.js';
import { validateDelivery, type EventingFeatures, DEFAULT_FEATURES } from './delivery.js';
import { validateKReference } from './destination.js';
import { BROKER_CLASS_KEY } from './keys.js';
import { goShortDiff } from './short-diff.js';
import type { Broker } from './types.js';

export interface BrokerValidationOptions {
  defaults?: BrokerDefaults;
  features?: EventingFeatures;
}

export function validateBroker(b: Broker, old: Broker | undefined, o: BrokerValidationOptions = {}): FieldError {
  const defaults = brokerDefaultsFrom(o.defaults);
  const namespace = b.metadata?.namespace ?? '';
  const scope = defaults.namespaceDefaults?.[namespace] ?? defaults.clusterDefault;
  const disallowOtherNs = scope?.disallowDifferentNamespaceConfig === true;
  let errs = FieldError.none;
  const cls = b.metadata?.annotations?.[BROKER_CLASS_KEY];
  if (cls === undefined || cls === '') errs = errs.also(errMissingField(BROKER_CLASS_KEY));
  let spec = FieldError.none;
  const config = b.spec?.config;
  if (config) {
    let ce = validateKReference(config);
    if (disallowOtherNs && config.namespace && namespace && config.namespace !== namespace) {
      ce = ce.also(
        new FieldError({
          message: 'mismatched namespaces',
          paths: ['namespace'],
          details: `parent namespace: "${namespace}" does not match ref: "${config.namespace}"`,
        }),
      );
    }
    spec = spec.also(ce.viaField('config'));
  }
  if (b.spec?.delivery)
    spec = spec.also(validateDelivery(b.spec.delivery, o.features ?? DEFAULT_FEATURES).viaField('delivery'));
  errs = errs.also(spec.viaField('spec'));
  if (old) errs = errs.also(checkBrokerImmutable(b, old));
  return errs;
}

/** Only spec.delivery may change; then the class annotation is compared. One error at most, spec first. */
export function checkBrokerImmutable(b: Broker, old: Broker): FieldError {
  const strip = (x: Broker): Record<string, unknown> => {
    const { delivery: _d, ...rest } = x.spec ?? {};
    return rest;
  };
  const specDiff = goShortDiff(strip(old), strip(b), '{v1.BrokerSpec}');
  if (specDiff !== '') {
    return new FieldError({ message: 'Immutable fields changed (-old +new)', paths: ['spec'], details: specDiff });
  }
  const a = old.metadata?.annotations?.[BROKER_CLASS_KEY] ?? '';
  const n = b.metadata?.annotations?.[BROKER_CLASS_KEY] ?? '';
  const clsDiff = goShortDiff(a, n, '{string}');
  if (clsDiff !== '') {
    return new FieldError({
      message: 'Immutable annotations changed (-old +new)',
      paths: ['annotations'],
      details: clsDiff,
    });
  }
  return FieldError.none;
}
