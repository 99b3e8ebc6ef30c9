// Controller owner references, so garbage collection follows Service → Configuration/Route → Revision.

import { API_VERSION } from '../keys.js';
import type { ObjectMeta, OwnerReference } from '../types.js';

export function controllerRef(kind: string, owner: { metadata?: ObjectMeta }): OwnerReference {
  const ref: OwnerReference = { apiVersion: API_VERSION, kind, name: owner.metadata?.name ?? '' };
  if (owner.metadata?.uid) ref.uid = owner.metadata.uid;
  ref.controller = true;
  ref.blockOwnerDeletion = true;
  return ref;
}

/** True when `obj` is controlled by `owner` (same kind, name and, when both have one, uid). */
export function isControlledBy(
  obj: { metadata?: ObjectMeta },
  kind: string,
  owner: { metadata?: ObjectMeta },
): boolean {
  return (obj.metadata?.ownerReferences ?? []).some(
    (r) =>
      r.controller === true &&
      r.kind === kind &&
      r.name === (owner.metadata?.name ?? '') &&
      (!r.uid || !owner.metadata?.uid || r.uid === owner.metadata.uid),
  );
}
