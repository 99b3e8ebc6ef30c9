// Validation of a Service, on create and on update.

import { FieldError } from './field-error.js';
import {
  validateCreatorAndModifier,
  validateRolloutDurationAnnotation,
  validateServingObjectMetadata,
} from './metadata-validation.js';
import {
  validateRevisionTemplate,
  verifyTemplateNameChange,
  type RevisionValidationOptions,
} from './revision-validation.js';
import { validateTrafficList } from './traffic-validation.js';
import type { Service } from './types.js';

export function validateService(s: Service, old?: Service, opts: RevisionValidationOptions = {}): FieldError {
  const meta = s.metadata;
  let errs = validateServingObjectMetadata(meta, false)
    .also(validateRolloutDurationAnnotation(meta?.annotations).viaField('annotations'))
    .viaField('metadata');
  const spec = validateRevisionTemplate(s.spec?.template, meta, opts)
    .viaField('template')
    .also(
      validateTrafficList(s.spec?.traffic, { within: 'spec', hasDefaultConfigurationName: true }).viaField('traffic'),
    );
  errs = errs.also(spec.viaField('spec'));
  if (old) {
    errs = errs
      .also(
        validateCreatorAndModifier(old.spec, s.spec, old.metadata?.annotations, meta?.annotations).viaField(
          'metadata.annotations',
        ),
      )
      .also(verifyTemplateNameChange(s.spec?.template, old.spec?.template).viaField('spec.template'));
  }
  return errs;
}
