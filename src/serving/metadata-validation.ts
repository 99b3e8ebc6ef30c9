// Object metadata checks shared by all Serving kinds: name/generateName, annotations that belong elsewhere,
// rollout-duration, label ownership and the creator/lastModifier annotations.

import {
  CURRENT_FIELD,
  FieldError,
  errInvalidKeyName,
  errInvalidValue,
  errMissingField,
  goSprint,
} from './field-error.js';
import { nameIsDNS1035Label } from './k8s-names.js';
import { parseGoDuration } from './go-duration.js';
import {
  ANNOTATION_CREATOR,
  ANNOTATION_LAST_MODIFIER,
  ANNOTATION_ROLLOUT_DURATION,
  AUTOSCALING_GROUP,
  getByPriority,
} from './keys.js';
import { validateAutoscalingAnnotations, type AutoscalerConfig } from './autoscaling-annotations.js';
import type { ObjectMeta, OwnerReference } from './types.js';
import { deepEqual } from './json.js';

/** knative/pkg apis.ValidateObjectMetadata; paths are relative to `metadata`. */
export function validateObjectMetadata(meta: ObjectMeta | undefined): FieldError {
  const name = meta?.name ?? '';
  const generateName = meta?.generateName ?? '';
  if (generateName !== '') {
    const msgs = nameIsDNS1035Label(generateName, true);
    if (msgs.length > 0)
      return new FieldError({ message: `not a DNS 1035 label prefix: ${goSprint(msgs)}`, paths: ['generateName'] });
  }
  if (name !== '') {
    const msgs = nameIsDNS1035Label(name, false);
    if (msgs.length > 0) return new FieldError({ message: `not a DNS 1035 label: ${goSprint(msgs)}`, paths: ['name'] });
  }
  if (generateName === '' && name === '')
    return new FieldError({ message: 'name or generateName is required', paths: ['name'] });
  return FieldError.none;
}

/** Serving's ValidateObjectMetadata: autoscaling annotations are only allowed on Revisions (and templates). */
export function validateServingObjectMetadata(
  meta: ObjectMeta | undefined,
  allowAutoscalingAnnotations: boolean,
  autoscaler?: AutoscalerConfig,
): FieldError {
  const errs = validateObjectMetadata(meta);
  if (allowAutoscalingAnnotations)
    return errs.also(validateAutoscalingAnnotations(meta?.annotations, autoscaler).viaField('annotations'));
  return errs.also(validateHasNoAutoscalingAnnotation(meta?.annotations).viaField('annotations'));
}

export function validateHasNoAutoscalingAnnotation(annotations: Record<string, string> | undefined): FieldError {
  let errs = FieldError.none;
  for (const key of Object.keys(annotations ?? {})) {
    if (key.startsWith(AUTOSCALING_GROUP)) {
      errs = errs.also(
        errInvalidKeyName(
          key,
          CURRENT_FIELD,
          'autoscaling annotations must be put under "spec.template.metadata.annotations" to work',
        ),
      );
    }
  }
  return errs;
}

/** A duration annotation such as rollout-duration or progress-deadline: whole seconds, not negative. */
export function validateSecondsDurationAnnotation(
  annotations: Record<string, string> | undefined,
  keys: readonly string[],
  label: string,
): FieldError {
  const [k, v] = getByPriority(annotations, keys);
  if (v === '') return FieldError.none;
  const d = parseGoDuration(v);
  if (d === undefined) return errInvalidValue(v, k);
  if (Math.round(d / 1e9) * 1e9 !== d)
    return new FieldError({ message: `${label}=${v} is not at second precision`, paths: [k] });
  if (d < 0) return new FieldError({ message: `${label}=${v} must be positive`, paths: [k] });
  return FieldError.none;
}

export const validateRolloutDurationAnnotation = (annotations: Record<string, string> | undefined): FieldError =>
  validateSecondsDurationAnnotation(annotations, ANNOTATION_ROLLOUT_DURATION, 'rollout-duration');

/** A label naming an owner must be backed by an owner reference of that kind and name. */
export function verifyLabelOwnerRef(
  value: string,
  label: string,
  kind: string,
  ownerRefs: OwnerReference[] | undefined,
): FieldError {
  for (const ref of ownerRefs ?? []) if (ref.kind === kind && ref.name === value) return FieldError.none;
  return errMissingField(label);
}

/** The creator never changes, and lastModifier may only change together with the spec. */
export function validateCreatorAndModifier(
  oldSpec: unknown,
  newSpec: unknown,
  oldAnnotations: Record<string, string> | undefined,
  newAnnotations: Record<string, string> | undefined,
): FieldError {
  let errs = FieldError.none;
  if ((oldAnnotations?.[ANNOTATION_CREATOR] ?? '') !== (newAnnotations?.[ANNOTATION_CREATOR] ?? '')) {
    errs = errs.also(new FieldError({ message: 'annotation value is immutable', paths: [ANNOTATION_CREATOR] }));
  }
  const oldMod = oldAnnotations?.[ANNOTATION_LAST_MODIFIER] ?? '';
  const newMod = newAnnotations?.[ANNOTATION_LAST_MODIFIER] ?? '';
  if (deepEqual(oldSpec, newSpec) && oldMod !== newMod)
    errs = errs.also(errInvalidValue(newMod, ANNOTATION_LAST_MODIFIER));
  return errs;
}
