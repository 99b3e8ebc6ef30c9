// Admission hooks per resource: mutating (defaulting) hooks run first, then validating ones, as
// kube-apiserver runs mutating and then validating admission webhooks. The Serving issue fills them.
import type { ResourceType } from './registry.js';
import type { KObject } from './types.js';

export interface AdmissionRequest {
  operation: 'CREATE' | 'UPDATE';
  resource: ResourceType;
  object: KObject;
  oldObject?: KObject;
  /** The user agent of the request, for creator/lastModifier annotations. */
  user: string;
}

export interface AdmissionHook {
  /** Returns the object to store; must not mutate `req.object`. Throw a StatusError to deny. */
  mutate?(req: AdmissionRequest): KObject;
  /** Throw a StatusError to deny. */
  validate?(req: AdmissionRequest): void;
}

export class Admission {
  #hooks = new Map<string, AdmissionHook[]>();

  register(group: string, plural: string, hook: AdmissionHook): void {
    const k = `${group}/${plural}`;
    this.#hooks.set(k, [...(this.#hooks.get(k) ?? []), hook]);
  }

  /** Mutating hooks in registration order; returns the object to validate and store. */
  mutate(req: AdmissionRequest): KObject {
    let obj = req.object;
    for (const h of this.#of(req)) if (h.mutate) obj = h.mutate({ ...req, object: obj });
    return obj;
  }

  /**
   * Validating hooks. kube-apiserver runs them after the schema check, so a request that breaks the schema is
   * answered with the schema's message and a validating hook only ever sees a structurally valid object.
   */
  validate(req: AdmissionRequest): void {
    for (const h of this.#of(req)) h.validate?.(req);
  }

  run(req: AdmissionRequest): KObject {
    const obj = this.mutate(req);
    this.validate({ ...req, object: obj });
    return obj;
  }

  #of(req: AdmissionRequest): AdmissionHook[] {
    return this.#hooks.get(`${req.resource.group}/${req.resource.plural}`) ?? [];
  }
}
