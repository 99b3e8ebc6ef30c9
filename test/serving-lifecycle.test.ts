import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  initializeRouteConditions,
  markIngressRolloutInProgress,
  markTLSNotEnabled,
  markTrafficAssigned,
  propagateIngressStatus,
} from '../src/serving/route-lifecycle.js';
import {
  initializeServiceConditions,
  propagateConfigurationStatus,
  propagateRouteStatus,
} from '../src/serving/service-lifecycle.js';
import {
  setLatestCreatedRevisionName,
  setLatestReadyRevisionName,
  markLatestCreatedFailed,
} from '../src/serving/configuration-lifecycle.js';
import { propagateRevisionObservation } from '../src/serving/revision-lifecycle.js';
import type { Condition, Status } from '../src/serving/types.js';

const T = Date.UTC(2026, 0, 1);
const summary = (s: Status): Record<string, string> =>
  Object.fromEntries(
    (s.conditions ?? []).map((c: Condition) => [c.type, [c.status, c.reason, c.message].filter(Boolean).join('/')]),
  );

interface Case {
  name: string;
  run: () => Status;
  want: Record<string, string>;
}

const cases: Case[] = [
  {
    name: 'route: initialized conditions are Unknown',
    run: () => initializeRouteConditions(undefined, T),
    want: {
      AllTrafficAssigned: 'Unknown',
      CertificateProvisioned: 'Unknown',
      IngressReady: 'Unknown',
      Ready: 'Unknown',
    },
  },
  {
    name: 'route: all happy makes Ready True',
    run: () =>
      propagateIngressStatus(markTLSNotEnabled(markTrafficAssigned(initializeRouteConditions(undefined, T), T), T), T, {
        status: 'True',
      }),
    want: {
      AllTrafficAssigned: 'True',
      CertificateProvisioned: 'True/TLSNotEnabled/external-domain-tls is not enabled',
      IngressReady: 'True',
      Ready: 'True',
    },
  },
  {
    name: 'route: rollout in progress',
    run: () => markIngressRolloutInProgress(markTLSNotEnabled(markTrafficAssigned(undefined, T), T), T),
    want: {
      AllTrafficAssigned: 'True',
      CertificateProvisioned: 'True/TLSNotEnabled/external-domain-tls is not enabled',
      IngressReady: 'Unknown/RolloutInProgress/A gradual rollout of the latest revision(s) is in progress.',
      Ready: 'Unknown/RolloutInProgress/A gradual rollout of the latest revision(s) is in progress.',
    },
  },
  {
    name: 'configuration: new revision makes it Unknown until ready',
    run: () =>
      setLatestCreatedRevisionName(
        setLatestReadyRevisionName(setLatestCreatedRevisionName(undefined, T, 'a-00001'), T, 'a-00001'),
        T,
        'a-00002',
      ),
    want: { Ready: 'Unknown' },
  },
  {
    name: 'configuration: failed revision',
    run: () => markLatestCreatedFailed(undefined, T, 'a-00002', 'boom'),
    want: { Ready: 'False/RevisionFailed/Revision "a-00002" failed with message: boom.' },
  },
  {
    name: 'service: propagates configuration and route readiness',
    run: () =>
      propagateRouteStatus(
        propagateConfigurationStatus(initializeServiceConditions(undefined, T), T, {
          conditions: [{ type: 'Ready', status: 'True' }],
        }),
        T,
        {
          conditions: [
            {
              type: 'Ready',
              status: 'Unknown',
              reason: 'IngressNotConfigured',
              message: 'Ingress has not yet been reconciled.',
            },
          ],
        },
      ),
    want: {
      ConfigurationsReady: 'True',
      RoutesReady: 'Unknown/IngressNotConfigured/Ingress has not yet been reconciled.',
      Ready: 'Unknown/IngressNotConfigured/Ingress has not yet been reconciled.',
    },
  },
  {
    name: 'revision: ready and active',
    run: () =>
      propagateRevisionObservation(undefined, T, { ready: true, actualReplicas: 1, desiredReplicas: 1, routed: true }),
    want: { Active: 'True', ContainerHealthy: 'True', Ready: 'True', ResourcesAvailable: 'True' },
  },
  {
    name: 'revision: scaled to zero stays Ready',
    run: () =>
      propagateRevisionObservation(
        propagateRevisionObservation(undefined, T, {
          ready: true,
          actualReplicas: 1,
          desiredReplicas: 1,
          routed: true,
        }),
        T,
        {
          ready: false,
          actualReplicas: 0,
          desiredReplicas: 0,
          routed: false,
        },
      ),
    want: {
      Active: 'False/NoTraffic/The target is not receiving traffic.',
      ContainerHealthy: 'True',
      Ready: 'True',
      ResourcesAvailable: 'True',
    },
  },
  {
    name: 'revision: container failure',
    run: () =>
      propagateRevisionObservation(undefined, T, {
        ready: false,
        failure: { reason: 'ExitCode1', message: 'Container failed with: oops' },
        actualReplicas: 0,
        desiredReplicas: 1,
        routed: true,
      }),
    want: {
      Active: 'False/ExitCode1/Container failed with: oops',
      ContainerHealthy: 'False/ExitCode1/Container failed with: oops',
      Ready: 'False/ExitCode1/Container failed with: oops',
      ResourcesAvailable: 'False/ExitCode1/Container failed with: oops',
    },
  },
];

for (const c of cases) {
  test(`lifecycle: ${c.name}`, () => assert.deepEqual(summary(c.run()), c.want));
}

test('lifecycle: re-marking keeps lastTransitionTime; a change stamps the new time', () => {
  const a = markTrafficAssigned(undefined, T);
  const b = markTrafficAssigned(a, T + 60_000);
  assert.equal(b.conditions?.find((c) => c.type === 'AllTrafficAssigned')?.lastTransitionTime, '2026-01-01T00:00:00Z');
  const c = markIngressRolloutInProgress(b, T + 60_000);
  assert.equal(c.conditions?.find((x) => x.type === 'IngressReady')?.lastTransitionTime, '2026-01-01T00:01:00Z');
});
