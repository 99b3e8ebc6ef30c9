// Trigger validation with Knative's exact messages: broker set, attribute names `^[a-z][a-z0-9]*$`, one
// dialect per `filters` element, a valid subscriber and delivery, the dependency and injection annotations,
// a CESQL expression that parses (reported as Knative's ValidateCESQLExpression does), and on update an
// immutable spec.broker.
import {
  errInvalidKeyName,
  errInvalidValue,
  errMissingField,
  FieldError,
  CURRENT_FIELD,
  errGeneric,
} from '../serving/field-error.js';
import { isRecord } from '../serving/json.js';
import { validateDelivery, DEFAULT_FEATURES, type EventingFeatures } from './delivery.js';
import { validateDestination } from './destination.js';
import { CesqlParseError, parseCesql } from './cesql.js';
import { DEPENDENCY_ANNOTATION, INJECTION_ANNOTATION } from './keys.js';
import { goShortDiff } from './short-diff.js';
import type { SubscriptionsAPIFilter, Trigger } from './types.js';

const VALID_ATTRIBUTE = /^[a-z][a-z0-9]*$/;
const ATTRIBUTE_DETAILS = 'Attribute name must start with a letter and can only contain lowercase alphanumeric';

export function validateAttributeNames(attrs: Record<string, string> | undefined): FieldError {
  let errs = FieldError.none;
  for (const k of Object.keys(attrs ?? {})) {
    if (!VALID_ATTRIBUTE.test(k)) errs = errs.also(errInvalidKeyName(k, CURRENT_FIELD, ATTRIBUTE_DETAILS).viaKey(k));
  }
  return errs;
}

function dialectCount(f: SubscriptionsAPIFilter): number {
  let n = 0;
  if (Object.keys(f.exact ?? {}).length > 0) n++;
  if (Object.keys(f.prefix ?? {}).length > 0) n++;
  if (Object.keys(f.suffix ?? {}).length > 0) n++;
  if ((f.all ?? []).length > 0) n++;
  if ((f.any ?? []).length > 0) n++;
  if (f.not !== undefined && f.not !== null) n++;
  if (typeof f.cesql === 'string' && f.cesql !== '') n++;
  return n;
}

export function validateFilter(f: SubscriptionsAPIFilter | undefined): FieldError {
  if (!f || typeof f !== 'object') return FieldError.none;
  let errs = FieldError.none;
  if (dialectCount(f) > 1)
    errs = errs.also(errGeneric('multiple dialects found, filters can have only one dialect set'));
  errs = errs
    .also(validateAttributeNames(f.exact).viaField('exact'))
    .also(validateAttributeNames(f.prefix).viaField('prefix'))
    .also(validateAttributeNames(f.suffix).viaField('suffix'))
    .also(validateFilterList(f.all).viaField('all'))
    .also(validateFilterList(f.any).viaField('any'))
    .also(validateFilter(f.not).viaField('not'));
  return errs.also(validateCesqlExpression(f.cesql).viaField('cesql'));
}

/**
 * Knative's ValidateCESQLExpression: an expression that does not parse is `invalid value: <expression>` with the
 * parser's message as details (sdk-go's say only "parse error: syntax error: "; Sluice's add what and where).
 */
export function validateCesqlExpression(expression: string | undefined): FieldError {
  if (typeof expression !== 'string' || expression === '') return FieldError.none;
  try {
    parseCesql(expression);
    return FieldError.none;
  } catch (e) {
    if (!(e instanceof CesqlParseError)) throw e;
    return errInvalidValue(expression, CURRENT_FIELD, e.message);
  }
}

/** Knative applies ViaIndex to the accumulated errors, so this does too. */
export function validateFilterList(list: SubscriptionsAPIFilter[] | undefined): FieldError {
  if (!Array.isArray(list)) return FieldError.none;
  let errs = FieldError.none;
  list.forEach((f, i) => {
    errs = errs.also(validateFilter(f)).viaIndex(i);
  });
  return errs;
}

function validateDependency(value: string, namespace: string): FieldError {
  let ref: unknown;
  try {
    ref = JSON.parse(value);
  } catch (e) {
    return new FieldError({
      message: `The provided annotation was not a corev1.ObjectReference: ${JSON.stringify(value)}`,
      details: goJsonError(value, e),
      paths: [''],
    });
  }
  const r = isRecord(ref) ? ref : {};
  let errs = FieldError.none;
  if (typeof r['namespace'] === 'string' && r['namespace'] !== '' && r['namespace'] !== namespace) {
    errs = errs.also(
      new FieldError({
        message: `Namespace must be empty or equal to the trigger namespace ${JSON.stringify(namespace)}`,
        paths: ['namespace'],
      }),
    );
  }
  if (!r['kind']) errs = errs.also(errMissingField('kind'));
  if (!r['name']) errs = errs.also(errMissingField('name'));
  if (!r['apiVersion']) errs = errs.also(errMissingField('apiVersion'));
  return errs;
}

/** Go's encoding/json message for the first bad character, as Knative's details show it. */
function goJsonError(value: string, e: unknown): string {
  const first = value.trimStart()[0];
  if (first !== undefined && !'{["-0123456789tfn'.includes(first))
    return `invalid character '${first}' looking for beginning of value`;
  return e instanceof Error ? e.message : String(e);
}

function validateInjection(value: string, broker: string | undefined): FieldError {
  if (value !== 'enabled' && value !== 'disabled') {
    return new FieldError({
      message: `The provided injection annotation value can only be "enabled" or "disabled", not ${JSON.stringify(value)}`,
      paths: [''],
    });
  }
  if (broker !== 'default') {
    return new FieldError({
      message: `The provided injection annotation is only used for default broker, but non-default broker specified here: ${JSON.stringify(broker ?? '')}`,
      paths: [''],
    });
  }
  return FieldError.none;
}

export function validateTrigger(t: Trigger, old?: Trigger, features: EventingFeatures = DEFAULT_FEATURES): FieldError {
  const spec = t.spec ?? {};
  let s = FieldError.none;
  if (!spec.broker) s = s.also(errMissingField('broker'));
  s = s
    .also(validateAttributeNames(spec.filter?.attributes).viaField('attributes').viaField('filter'))
    .also(validateFilterList(spec.filters).viaField('filters'))
    .also(validateDestination(spec.subscriber ?? {}).viaField('subscriber'))
    .also(validateDelivery(spec.delivery, features).viaField('delivery'));
  let errs = s.viaField('spec');
  const annotations = t.metadata?.annotations ?? {};
  const namespace = t.metadata?.namespace ?? '';
  if (DEPENDENCY_ANNOTATION in annotations) {
    errs = errs.also(
      validateDependency(annotations[DEPENDENCY_ANNOTATION] ?? '', namespace).viaField(
        `metadata.annotations[${DEPENDENCY_ANNOTATION}]`,
      ),
    );
  }
  if (INJECTION_ANNOTATION in annotations) {
    errs = errs.also(
      validateInjection(annotations[INJECTION_ANNOTATION] ?? '', spec.broker).viaField(
        `metadata.annotations[${INJECTION_ANNOTATION}]`,
      ),
    );
  }
  if (old) {
    const diff = goShortDiff(old.spec?.broker ?? '', spec.broker ?? '', '{string}');
    if (diff !== '') {
      errs = errs.also(
        new FieldError({ message: 'Immutable fields changed (-old +new)', paths: ['spec', 'broker'], details: diff }),
      );
    }
  }
  return errs;
}
