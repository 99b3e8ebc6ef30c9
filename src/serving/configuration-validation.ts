// Validation of a Configuration, on create and on update.

import { FieldError } from './field-error.js';
import { LABEL_SERVICE } from './keys.js';
import {
  validateCreatorAndModifier,
  validateServingObjectMetadata,
  verifyLabelOwnerRef,
} from './metadata-validation.js';
import {
  validateRevisionTemplate,
  verifyTemplateNameChange,
  type RevisionValidationOptions,
} from './revision-validation.js';
import type { Configuration } from './types.js';

export function validateConfiguration(
  c: Configuration,
  old?: Configuration,
  opts: RevisionValidationOptions = {},
): FieldError {
  const meta = c.metadata;
  let errs = validateServingObjectMetadata(meta, false);
  const svc = meta?.labels?.[LABEL_SERVICE];
  if (svc !== undefined)
    errs = errs.also(verifyLabelOwnerRef(svc, LABEL_SERVICE, 'Service', meta?.ownerReferences).viaField('labels'));
  errs = errs.viaField('metadata');
  errs = errs.also(validateRevisionTemplate(c.spec?.template, meta, opts).viaField('spec.template'));
  if (old) {
    if (!meta?.ownerReferences) {
      errs = errs.also(
        validateCreatorAndModifier(old.spec, c.spec, old.metadata?.annotations, meta?.annotations).viaField(
          'metadata.annotations',
        ),
      );
    }
    errs = errs.also(verifyTemplateNameChange(c.spec?.template, old.spec?.template).viaField('spec.template'));
  }
  return errs;
}
