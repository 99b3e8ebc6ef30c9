// RolloutPolicy admission: the checks `sluice validate` makes (schema, PromQL syntax, semantic rules) run when a
// policy is written, so `kubectl apply` of a policy the controller could not use fails with 422 Invalid naming
// the field, as a schema error does, instead of being stored and ignored. The embedded API server runs it as a
// validating admission hook; on a cluster the controller serves the same function as a validating webhook.
import { errors, type Admission, type KObject, type StatusError } from '../apiserver/index.js';
import { checkPolicyObject } from '../rollout/policy/object.js';

export const POLICY_GROUP = 'delivery.sluice.dev';
export const POLICY_PLURAL = 'rolloutpolicies';

/** null when the policy is valid; otherwise the 422 the API answers, one cause per error with its field path. */
export function policyDenial(obj: KObject): StatusError | null {
  const { errors: problems } = checkPolicyObject(obj);
  if (problems.length === 0) return null;
  return errors.invalid(
    'RolloutPolicy',
    POLICY_GROUP,
    obj.metadata.name ?? '',
    problems.map((e) => ({ field: e.path ?? '', message: e.detail })),
  );
}

export function registerPolicyAdmission(admission: Admission): void {
  admission.register(POLICY_GROUP, POLICY_PLURAL, {
    validate: (req) => {
      const denial = policyDenial(req.object);
      if (denial) throw denial;
    },
  });
}
