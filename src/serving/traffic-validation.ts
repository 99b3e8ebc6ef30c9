// Validation of a traffic list (Route spec.traffic, Service spec.traffic, and Route status.traffic).

import {
  FieldError,
  CURRENT_FIELD,
  errDisallowedFields,
  errGeneric,
  errInvalidArrayValue,
  errInvalidKeyName,
  errMissingField,
  errMissingOneOf,
  errMultipleOneOf,
  errOutOfBoundsValue,
  goSprint,
} from './field-error.js';
import { isDNS1035Label, isQualifiedName } from './k8s-names.js';
import type { TrafficTarget } from './types.js';

export interface TrafficValidationContext {
  /** Spec rules (latestRevision consistency, no url) versus status rules (revisionName and url required). */
  within: 'spec' | 'status';
  /** Inside a Service the configuration is implied, so configurationName is not allowed and not needed. */
  hasDefaultConfigurationName: boolean;
}

function validateLatestRevision(tt: TrafficTarget, ctx: TrafficValidationContext): FieldError {
  if (ctx.within !== 'spec' || tt.latestRevision === undefined || tt.latestRevision === null) return FieldError.none;
  const pinned = (tt.revisionName ?? '') !== '';
  if (pinned !== tt.latestRevision) return FieldError.none;
  return errGeneric(
    `may not set revisionName ${JSON.stringify(tt.revisionName ?? '')} when latestRevision is ${String(tt.latestRevision)}`,
    'latestRevision',
  );
}

function validateRevisionAndConfiguration(tt: TrafficTarget, ctx: TrafficValidationContext): FieldError {
  const rev = tt.revisionName ?? '';
  const cfg = tt.configurationName ?? '';
  if (ctx.hasDefaultConfigurationName && cfg !== '') return errDisallowedFields('configurationName');
  if (rev !== '' && cfg !== '') return errMultipleOneOf('revisionName', 'configurationName');
  if (rev !== '') {
    const el = isQualifiedName(rev);
    return el.length > 0 ? errInvalidKeyName(rev, 'revisionName', ...el) : FieldError.none;
  }
  if (ctx.within === 'status') return errMissingField('revisionName');
  if (cfg !== '') {
    const el = isQualifiedName(cfg);
    return el.length > 0 ? errInvalidKeyName(cfg, 'configurationName', ...el) : FieldError.none;
  }
  if (ctx.hasDefaultConfigurationName) return FieldError.none;
  return errMissingOneOf('revisionName', 'configurationName');
}

function validateURL(tt: TrafficTarget, ctx: TrafficValidationContext): FieldError {
  let errs = FieldError.none;
  if ((tt.url ?? '') !== '') {
    if (ctx.within === 'spec') errs = errs.also(errDisallowedFields('url'));
    if ((tt.tag ?? '') === '') errs = errs.also(errDisallowedFields('url'));
  } else if ((tt.tag ?? '') !== '' && ctx.within === 'status') {
    errs = errs.also(errMissingField('url'));
  }
  return errs;
}

/** Paths are relative to the target. */
export function validateTrafficTarget(tt: TrafficTarget, ctx: TrafficValidationContext): FieldError {
  let errs = validateLatestRevision(tt, ctx).also(validateRevisionAndConfiguration(tt, ctx));
  if (typeof tt.percent === 'number' && (tt.percent < 0 || tt.percent > 100)) {
    errs = errs.also(errOutOfBoundsValue(tt.percent, 0, 100, 'percent'));
  }
  return errs.also(validateURL(tt, ctx));
}

/** Paths are relative to the list; callers add `traffic` (and `spec`). */
export function validateTrafficList(
  traffic: readonly TrafficTarget[] | undefined,
  ctx: TrafficValidationContext,
): FieldError {
  let errs = FieldError.none;
  const firstByTag = new Map<string, number>();
  let sum = 0;
  (traffic ?? []).forEach((tt, i) => {
    errs = errs.also(validateTrafficTarget(tt, ctx).viaIndex(i));
    if (typeof tt.percent === 'number') sum += tt.percent;
    const tag = tt.tag ?? '';
    if (tag === '') return;
    const msgs = isDNS1035Label(tag);
    if (msgs.length > 0) errs = errs.also(errInvalidArrayValue(`not a DNS 1035 label: ${goSprint(msgs)}`, 'tag', i));
    const first = firstByTag.get(tag);
    if (first !== undefined) {
      errs = errs.also(
        new FieldError({
          message: `Multiple definitions for ${JSON.stringify(tag)}`,
          paths: [`[${i}].tag`, `[${first}].tag`],
        }),
      );
    } else {
      firstByTag.set(tag, i);
    }
  });
  if (sum !== 100) {
    errs = errs.also(new FieldError({ message: `Traffic targets sum to ${sum}, want 100`, paths: [CURRENT_FIELD] }));
  }
  return errs;
}
