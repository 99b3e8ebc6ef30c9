// Every error the API server returns is a Kubernetes `Status` object, with the reason and message texts
// kube-apiserver uses, so kubectl prints it the way users already know.

export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message: string;
  reason: string;
  details?: StatusDetails;
  code: number;
}

/** A request failed with a Kubernetes Status. Thrown inside the server, rendered by the HTTP layer. */
export class StatusError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details: StatusDetails | undefined;
  constructor(code: number, reason: string, message: string, details?: StatusDetails) {
    super(message);
    this.name = 'StatusError';
    this.code = code;
    this.reason = reason;
    this.details = details;
  }
  toStatus(): StatusBody {
    const s: StatusBody = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) s.details = this.details;
    return s;
  }
}

/** `services.serving.knative.dev` or `configmaps` (core group has no suffix). */
export function qualifiedResource(resource: string, group: string): string {
  return group ? `${resource}.${group}` : resource;
}

export const errors = {
  notFound(resource: string, group: string, name: string): StatusError {
    return new StatusError(404, 'NotFound', `${qualifiedResource(resource, group)} "${name}" not found`, {
      name,
      group,
      kind: resource,
    });
  },
  alreadyExists(resource: string, group: string, name: string): StatusError {
    return new StatusError(409, 'AlreadyExists', `${qualifiedResource(resource, group)} "${name}" already exists`, {
      name,
      group,
      kind: resource,
    });
  },
  conflict(resource: string, group: string, name: string, why: string): StatusError {
    return new StatusError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${qualifiedResource(resource, group)} "${name}": ${why}`,
      { name, group, kind: resource },
    );
  },
  staleResourceVersion(resource: string, group: string, name: string): StatusError {
    return errors.conflict(
      resource,
      group,
      name,
      'the object has been modified; please apply your changes to the latest version and try again',
    );
  },
  invalid(kind: string, group: string, name: string, causes: StatusCause[]): StatusError {
    const text = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
    const body = text.length === 1 ? text[0] : `[${text.join(', ')}]`;
    return new StatusError(422, 'Invalid', `${kind}${group ? `.${group}` : ''} "${name}" is invalid: ${body}`, {
      name,
      group,
      kind,
      causes: causes.map((c) => ({
        reason: c.reason ?? 'FieldValueInvalid',
        message: c.message,
        ...(c.field ? { field: c.field } : {}),
      })),
    });
  },
  badRequest(message: string): StatusError {
    return new StatusError(400, 'BadRequest', message);
  },
  unauthorized(): StatusError {
    return new StatusError(401, 'Unauthorized', 'Unauthorized');
  },
  methodNotAllowed(verb: string, what: string): StatusError {
    return new StatusError(
      405,
      'MethodNotAllowed',
      `the server does not allow this method on the requested resource (${verb} ${what})`,
    );
  },
  notAcceptableMedia(message: string): StatusError {
    return new StatusError(415, 'UnsupportedMediaType', message);
  },
  tooLarge(limit: number): StatusError {
    return new StatusError(
      413,
      'RequestEntityTooLarge',
      `the server has received too large of a request: limit is ${limit} bytes`,
    );
  },
  gone(message: string): StatusError {
    return new StatusError(410, 'Expired', message);
  },
  resourceNotFound(path: string): StatusError {
    return new StatusError(404, 'NotFound', `the server could not find the requested resource (${path})`, {});
  },
  namespaceNotFound(ns: string): StatusError {
    return new StatusError(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' });
  },
  internal(message: string): StatusError {
    return new StatusError(500, 'InternalError', `Internal error occurred: ${message}`);
  },
};
