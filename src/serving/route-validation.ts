// Validation of a Route, on create and on update.

import { FieldError } from './field-error.js';
import { LABEL_SERVICE } from './keys.js';
import {
  validateCreatorAndModifier,
  validateRolloutDurationAnnotation,
  validateServingObjectMetadata,
  verifyLabelOwnerRef,
} from './metadata-validation.js';
import { validateTrafficList } from './traffic-validation.js';
import type { Route } from './types.js';

export function validateRoute(r: Route, old?: Route): FieldError {
  const meta = r.metadata;
  let errs = validateServingObjectMetadata(meta, false);
  const svc = meta?.labels?.[LABEL_SERVICE];
  if (svc !== undefined)
    errs = errs.also(verifyLabelOwnerRef(svc, LABEL_SERVICE, 'Service', meta?.ownerReferences).viaField('labels'));
  errs = errs.also(validateRolloutDurationAnnotation(meta?.annotations).viaField('annotations'));
  errs = errs.viaField('metadata');
  errs = errs.also(
    validateTrafficList(r.spec?.traffic, { within: 'spec', hasDefaultConfigurationName: false })
      .viaField('traffic')
      .viaField('spec'),
  );
  if (old && !meta?.ownerReferences) {
    errs = errs.also(
      validateCreatorAndModifier(old.spec, r.spec, old.metadata?.annotations, meta?.annotations).viaField(
        'metadata.annotations',
      ),
    );
  }
  return errs;
}
