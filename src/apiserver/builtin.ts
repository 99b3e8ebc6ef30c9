// The built-in kinds Sluice needs from kube-apiserver, with kubectl's familiar columns.
import { ALL_VERBS, type PrinterColumn, type ResourceType } from './registry.js';
import { AGE_COLUMN, cellValue } from './table.js';
import type { KObject } from './types.js';
import { isRecord } from './types.js';

const col = (name: string, jsonPath: string, type = 'string'): PrinterColumn => ({ name, type, jsonPath });

function countOf(o: KObject, ...fields: string[]): number {
  let n = 0;
  for (const f of fields) {
    const v = o[f];
    if (isRecord(v)) n += Object.keys(v).length;
  }
  return n;
}

function base(kind: string, plural: string, opts: Partial<ResourceType>): ResourceType {
  return {
    group: '',
    version: 'v1',
    kind,
    listKind: `${kind}List`,
    plural,
    singular: kind.toLowerCase(),
    namespaced: true,
    shortNames: [],
    categories: [],
    verbs: ALL_VERBS,
    statusSubresource: false,
    builtin: true,
    hasGeneration: false,
    printerColumns: [],
    ...opts,
  };
}

export function builtinTypes(): ResourceType[] {
  return [
    base('Namespace', 'namespaces', {
      namespaced: false,
      shortNames: ['ns'],
      statusSubresource: true,
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      tableCells: (o, now) => {
        const cols = [col('Status', '.status.phase'), AGE_COLUMN];
        return { columns: cols, cells: cols.map((c) => cellValue(o, c, now)) };
      },
    }),
    base('ConfigMap', 'configmaps', {
      shortNames: ['cm'],
      tableCells: (o, now) => ({
        columns: [col('Data', '.data', 'integer'), AGE_COLUMN],
        cells: [countOf(o, 'data', 'binaryData'), cellValue(o, AGE_COLUMN, now)],
      }),
    }),
    base('Secret', 'secrets', {
      tableCells: (o, now) => ({
        columns: [col('Type', '.type'), col('Data', '.data', 'integer'), AGE_COLUMN],
        cells: [typeof o.type === 'string' ? o.type : 'Opaque', countOf(o, 'data'), cellValue(o, AGE_COLUMN, now)],
      }),
    }),
    base('Event', 'events', {
      shortNames: ['ev'],
      tableCells: (o, now) => {
        const cols = [
          col('Last Seen', '.lastTimestamp', 'date'),
          col('Type', '.type'),
          col('Reason', '.reason'),
          col('Object', '.involvedObject.name'),
          col('Message', '.message'),
        ];
        const io = isRecord(o.involvedObject) ? o.involvedObject : {};
        const last =
          typeof o.lastTimestamp === 'string'
            ? o
            : { ...o, lastTimestamp: (o as Record<string, unknown>).eventTime ?? o.metadata.creationTimestamp };
        return {
          columns: cols,
          cells: [
            cellValue(last as KObject, cols[0]!, now),
            cellValue(o, cols[1]!, now),
            cellValue(o, cols[2]!, now),
            `${String(io.kind ?? '').toLowerCase()}/${String(io.name ?? '')}`,
            cellValue(o, cols[4]!, now),
          ],
        };
      },
    }),
    base('Lease', 'leases', {
      group: 'coordination.k8s.io',
      tableCells: (o, now) => ({
        columns: [col('Holder', '.spec.holderIdentity'), AGE_COLUMN],
        cells: [cellValue(o, col('Holder', '.spec.holderIdentity'), now), cellValue(o, AGE_COLUMN, now)],
      }),
    }),
    base('ServiceAccount', 'serviceaccounts', {
      shortNames: ['sa'],
      tableCells: (o, now) => ({
        columns: [col('Secrets', '.secrets', 'integer'), AGE_COLUMN],
        cells: [Array.isArray(o.secrets) ? o.secrets.length : 0, cellValue(o, AGE_COLUMN, now)],
      }),
    }),
    ...rbacTypes(),
    // Stored, not run (no kubelet, no endpoints): so `kubectl apply -k deploy/` installs as on a cluster.
    base('Service', 'services', {
      shortNames: ['svc'],
      statusSubresource: true,
      categories: ['all'],
      tableCells: (o, now) => {
        const spec = isRecord(o.spec) ? o.spec : {};
        const ports = Array.isArray(spec.ports)
          ? spec.ports
              .filter(isRecord)
              .map((p) => `${String(p.port ?? '')}/${String(p.protocol ?? 'TCP')}`)
              .join(',')
          : '';
        const cols = [
          col('Type', '.spec.type'),
          col('Cluster-IP', '.spec.clusterIP'),
          col('Ports', '.spec.ports'),
          AGE_COLUMN,
        ];
        return {
          columns: cols,
          cells: [
            String(spec.type ?? 'ClusterIP'),
            String(spec.clusterIP ?? '<none>'),
            ports,
            cellValue(o, AGE_COLUMN, now),
          ],
        };
      },
    }),
    base('Deployment', 'deployments', {
      group: 'apps',
      shortNames: ['deploy'],
      statusSubresource: true,
      hasGeneration: true,
      categories: ['all'],
      tableCells: (o, now) => {
        const spec = isRecord(o.spec) ? o.spec : {};
        const st = isRecord(o.status) ? o.status : {};
        const cols = [
          col('Ready', '.status.readyReplicas'),
          col('Up-to-date', '.status.updatedReplicas'),
          col('Available', '.status.availableReplicas'),
          AGE_COLUMN,
        ];
        return {
          columns: cols,
          cells: [
            `${Number(st.readyReplicas ?? 0)}/${Number(spec.replicas ?? 1)}`,
            Number(st.updatedReplicas ?? 0),
            Number(st.availableReplicas ?? 0),
            cellValue(o, AGE_COLUMN, now),
          ],
        };
      },
    }),
    // Stored, not called: the embedded API server runs the same RolloutPolicy check in-process
    // (cli/policy-admission.ts). Stored so `kubectl apply -f deploy/webhook.yaml` installs as on a cluster and the
    // controller's admission webhook can publish its CA into it, with the RBAC a cluster would ask for.
    base('ValidatingWebhookConfiguration', 'validatingwebhookconfigurations', {
      group: 'admissionregistration.k8s.io',
      namespaced: false,
      hasGeneration: true,
      categories: ['api-extensions'],
      tableCells: (o, now) => ({
        columns: [col('Webhooks', '.webhooks', 'integer'), AGE_COLUMN],
        cells: [Array.isArray(o.webhooks) ? o.webhooks.length : 0, cellValue(o, AGE_COLUMN, now)],
      }),
    }),
    base('CustomResourceDefinition', 'customresourcedefinitions', {
      group: 'apiextensions.k8s.io',
      namespaced: false,
      shortNames: ['crd', 'crds'],
      statusSubresource: true,
      hasGeneration: true,
      categories: ['api-extensions'],
      tableCells: (o) => ({
        columns: [col('Created At', '.metadata.creationTimestamp')],
        cells: [o.metadata.creationTimestamp ?? ''],
      }),
    }),
  ];
}

/** rbac.authorization.k8s.io/v1: stored as kube-apiserver stores them; the authorizer reads them (authorizer.ts). */
function rbacTypes(): ResourceType[] {
  const rbac = (kind: string, plural: string, namespaced: boolean, role: boolean): ResourceType =>
    base(kind, plural, {
      group: 'rbac.authorization.k8s.io',
      namespaced,
      tableCells: (o, now) => {
        if (role) {
          const cols = [col('Created At', '.metadata.creationTimestamp')];
          return { columns: cols, cells: [o.metadata.creationTimestamp ?? ''] };
        }
        const ref = isRecord(o.roleRef) ? o.roleRef : {};
        const cols = [col('Role', '.roleRef.name'), AGE_COLUMN];
        return {
          columns: cols,
          cells: [`${String(ref.kind ?? '')}/${String(ref.name ?? '')}`, cellValue(o, AGE_COLUMN, now)],
        };
      },
    });
  return [
    rbac('Role', 'roles', true, true),
    rbac('ClusterRole', 'clusterroles', false, true),
    rbac('RoleBinding', 'rolebindings', true, false),
    rbac('ClusterRoleBinding', 'clusterrolebindings', false, false),
  ];
}

/** Field selectors kube-apiserver supports beyond metadata.name/namespace, per kind. */
export const EXTRA_FIELD_SELECTORS: Record<string, string[]> = {
  '/events': [
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
  ],
  '/secrets': ['type'],
  '/namespaces': ['status.phase'],
};
