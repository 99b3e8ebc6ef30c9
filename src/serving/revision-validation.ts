// Validation of Revision templates (inside Services and Configurations) and of Revisions themselves.

import { FieldError, errDisallowedFields, errInvalidValue, errOutOfBoundsValue, goSprint } from './field-error.js';
import { nameIsDNS1035Label } from './k8s-names.js';
import { validatePodSpec, FEATURE_DEFAULTS, type PodSpecFeatures } from './pod-spec-validation.js';
import { validateAutoscalingAnnotations, type AutoscalerConfig } from './autoscaling-annotations.js';
import {
  validateSecondsDurationAnnotation,
  validateServingObjectMetadata,
  verifyLabelOwnerRef,
} from './metadata-validation.js';
import { ANNOTATION_PROGRESS_DEADLINE, LABEL_CONFIGURATION } from './keys.js';
import { DEFAULTS, defaultRevisionTemplate, type ServingDefaults } from './defaults.js';
import { shortDiffRevisionSpec, shortDiffTemplate } from './short-diff.js';
import { validateNetworkingAnnotations, validateQueueSidecarAnnotations } from './template-annotations.js';
import { deepEqual } from './json.js';
import type { ObjectMeta, Revision, RevisionSpec, RevisionTemplateSpec } from './types.js';

export interface RevisionValidationOptions {
  defaults?: ServingDefaults;
  features?: PodSpecFeatures;
  /** config-autoscaler's keys that validation reads (allow-zero-initial-scale, max-scale-limit, class). */
  autoscaler?: AutoscalerConfig;
}

/** Paths relative to the RevisionSpec. */
export function validateRevisionSpec(spec: RevisionSpec, opts: RevisionValidationOptions = {}): FieldError {
  const d = opts.defaults ?? DEFAULTS;
  let errs = validatePodSpec(spec, opts.features ?? FEATURE_DEFAULTS);
  const timeout = spec.timeoutSeconds;
  if (typeof timeout === 'number' && timeout !== 0 && (timeout > d.maxRevisionTimeoutSeconds || timeout < 0)) {
    errs = errs.also(errOutOfBoundsValue(timeout, 0, d.maxRevisionTimeoutSeconds, 'timeoutSeconds'));
  }
  const cc = spec.containerConcurrency;
  if (typeof cc === 'number') {
    const min = d.allowContainerConcurrencyZero ? 0 : 1;
    if (cc < min || cc > d.containerConcurrencyMaxLimit) {
      errs = errs.also(errOutOfBoundsValue(cc, min, d.containerConcurrencyMaxLimit, 'containerConcurrency'));
    }
  }
  return errs;
}

/** A bring-your-own Revision name must be a DNS label prefixed by `<parent>-`. Paths relative to the template. */
function validateRevisionName(meta: ObjectMeta | undefined, parent: ObjectMeta | undefined): FieldError {
  const generateName = meta?.generateName ?? '';
  const name = meta?.name ?? '';
  if (generateName !== '') {
    const msgs = nameIsDNS1035Label(generateName, true);
    if (msgs.length > 0)
      return errInvalidValue(`not a DNS 1035 label prefix: ${goSprint(msgs)}`, 'metadata.generateName');
  }
  if (name === '') return FieldError.none;
  const msgs = nameIsDNS1035Label(name, false);
  if (msgs.length > 0) return errInvalidValue(`not a DNS 1035 label: ${goSprint(msgs)}`, 'metadata.name');
  const parentName = parent?.name ?? '';
  if (parentName === '' && (parent?.generateName ?? '') !== '') return errDisallowedFields('metadata.name');
  const prefix = `${parentName}-`;
  if (!name.startsWith(prefix)) {
    return errInvalidValue(`${JSON.stringify(name)} must have prefix ${JSON.stringify(prefix)}`, 'metadata.name');
  }
  return FieldError.none;
}

/** Paths relative to the template; `parent` is the owning Service's or Configuration's metadata. */
export function validateRevisionTemplate(
  t: RevisionTemplateSpec | undefined,
  parent: ObjectMeta | undefined,
  opts: RevisionValidationOptions = {},
): FieldError {
  const annotations = t?.metadata?.annotations;
  return validateRevisionSpec(t?.spec ?? {}, opts)
    .viaField('spec')
    .also(validateAutoscalingAnnotations(annotations, opts.autoscaler).viaField('metadata.annotations'))
    .also(validateNetworkingAnnotations(annotations).viaField('metadata.annotations'))
    .also(validateQueueSidecarAnnotations(annotations).viaField('metadata.annotations'))
    .also(validateRevisionName(t?.metadata, parent))
    .also(
      validateSecondsDurationAnnotation(annotations, ANNOTATION_PROGRESS_DEADLINE, 'progress-deadline').viaField(
        'metadata.annotations',
      ),
    );
}

/**
 * On update, a template that keeps its bring-your-own name must not change, because that name is the
 * name of an immutable Revision. Both sides are defaulted first so stored and submitted forms compare equal.
 * Paths relative to the template.
 */
export function verifyTemplateNameChange(
  next: RevisionTemplateSpec | undefined,
  prev: RevisionTemplateSpec | undefined,
): FieldError {
  const name = next?.metadata?.name ?? '';
  if (name === '' || name !== (prev?.metadata?.name ?? '')) return FieldError.none;
  // Create-time defaults too (enableServiceLinks), so a template re-sent without them still compares equal.
  const ctx = { operation: 'CREATE' as const };
  const a = defaultRevisionTemplate(prev, ctx);
  const b = defaultRevisionTemplate(next, ctx);
  if (deepEqual(a, b)) return FieldError.none;
  return new FieldError({
    message: 'Saw the following changes without a name change (-old +new)',
    paths: ['metadata.name'],
    details: shortDiffTemplate(a, b),
  });
}

export function validateRevision(rev: Revision, old?: Revision, opts: RevisionValidationOptions = {}): FieldError {
  const meta = rev.metadata;
  let errs = validateServingObjectMetadata(meta, true, opts.autoscaler);
  const cfgLabel = meta?.labels?.[LABEL_CONFIGURATION];
  if (cfgLabel !== undefined) {
    errs = errs.also(
      verifyLabelOwnerRef(cfgLabel, LABEL_CONFIGURATION, 'Configuration', meta?.ownerReferences).viaField('labels'),
    );
  }
  errs = errs.viaField('metadata');
  if (old) {
    if (!deepEqual(old.spec ?? {}, rev.spec ?? {})) {
      return new FieldError({
        message: 'Immutable fields changed (-old +new)',
        paths: ['spec'],
        details: shortDiffRevisionSpec(old.spec ?? {}, rev.spec ?? {}),
      });
    }
    return errs;
  }
  return errs.also(validateRevisionSpec(rev.spec ?? {}, opts).viaField('spec'));
}
