// duckv1.Destination and KReference validation with knative/pkg's messages.
import { errGeneric, errInvalidValue, errMissingField, FieldError } from '../serving/field-error.js';
import type { Destination, KReference } from './types.js';

/** Go's url.IsAbs() plus a non-empty host, as ValidateDestination requires of a bare uri. */
function absoluteWithHost(uri: string): { abs: boolean; host: string } {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):(\/\/([^/?#]*))?/.exec(uri);
  if (!m) return { abs: false, host: '' };
  const authority = m[3] ?? '';
  return { abs: true, host: authority.replace(/^[^@]*@/, '') };
}

export function validateKReference(ref: KReference | undefined): FieldError {
  if (!ref) return errMissingField('name').also(errMissingField('apiVersion'), errMissingField('kind'));
  let errs = FieldError.none;
  if (!ref.name) errs = errs.also(errMissingField('name'));
  if (!ref.apiVersion) errs = errs.also(errMissingField('apiVersion'));
  if (!ref.kind) errs = errs.also(errMissingField('kind'));
  return errs;
}

/** ValidateDestination: paths relative to the destination. */
export function validateDestination(dest: Destination): FieldError {
  const ref = dest.ref;
  const uri = dest.uri;
  if ((ref === undefined || ref === null) && (uri === undefined || uri === null)) {
    return errGeneric('expected at least one, got none', 'ref', 'uri');
  }
  const u = typeof uri === 'string' ? absoluteWithHost(uri) : undefined;
  if (ref && u?.abs) {
    return errGeneric(
      'Absolute URI is not allowed when Ref or [apiVersion, kind, name] is present',
      '[apiVersion, kind, name]',
      'ref',
      'uri',
    );
  }
  if (!ref && u && (!u.abs || u.host === '')) {
    return errInvalidValue('Relative URI is not allowed when Ref and [apiVersion, kind, name] is absent', 'uri');
  }
  if (ref && uri === undefined) return validateKReference(ref).viaField('ref');
  return FieldError.none;
}
