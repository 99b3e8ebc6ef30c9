// SinkBinding (sources.knative.dev/v1) semantics: defaulting (namespaces), validation (subject and sink), and
// which Knative Services a binding's subject selects. The reconciler resolves the sink and injects K_SINK.
import { errMissingField, FieldError } from '../serving/field-error.js';
import { defaultDestination } from './broker-defaults.js';
import { validateDestination } from './destination.js';
import type { KReference, SinkBinding } from './types.js';

export function defaultSinkBinding(s: SinkBinding): SinkBinding {
  const namespace = s.metadata?.namespace ?? '';
  const spec = { ...(s.spec ?? {}) };
  if (spec.sink) spec.sink = defaultDestination(spec.sink, namespace);
  if (spec.subject && !spec.subject.namespace) spec.subject = { ...spec.subject, namespace };
  return { ...s, spec };
}

export function validateSinkBinding(s: SinkBinding): FieldError {
  const spec = s.spec ?? {};
  let errs = FieldError.none;
  const subject = spec.subject;
  if (!subject) errs = errs.also(errMissingField('subject'));
  else {
    if (!subject.apiVersion) errs = errs.also(errMissingField('subject.apiVersion'));
    if (!subject.kind) errs = errs.also(errMissingField('subject.kind'));
    if (!subject.name && !subject.selector)
      errs = errs.also(
        new FieldError({ message: 'expected exactly one, got neither', paths: ['subject.name', 'subject.selector'] }),
      );
  }
  if (!spec.sink) errs = errs.also(errMissingField('sink'));
  else errs = errs.also(validateDestination(spec.sink).viaField('sink'));
  return errs.viaField('spec');
}

/** True when the subject names this Knative Service (by name; label selectors match `labels`). */
export function subjectSelects(
  subject: (KReference & { selector?: Record<string, unknown> }) | undefined,
  svc: { namespace: string; name: string; labels?: Record<string, string> },
): boolean {
  if (!subject) return false;
  if (subject.kind !== 'Service' || subject.apiVersion !== 'serving.knative.dev/v1') return false;
  if ((subject.namespace ?? svc.namespace) !== svc.namespace) return false;
  if (subject.name) return subject.name === svc.name;
  const ml = subject.selector?.['matchLabels'];
  if (ml && typeof ml === 'object') {
    return Object.entries(ml as Record<string, unknown>).every(([k, v]) => svc.labels?.[k] === v);
  }
  return false;
}
