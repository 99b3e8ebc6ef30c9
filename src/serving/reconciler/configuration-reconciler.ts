// Configuration → one Revision per template generation (pkg/reconciler/configuration): the Revision is
// named `<configuration>-0000N` after the Configuration's generation, or by the template's own name, so a
// change of metadata only (or of a Service's traffic) makes none. Status follows the latest Revision:
// latestCreatedRevisionName at once, latestReadyRevisionName when it is Ready, Ready=False with Knative's
// RevisionFailed text when it failed.
import { R } from '../../kube/index.js';
import { errorMessage } from '../../util/errors.js';
import { getCondition } from '../conditions.js';
import {
  initializeConfigurationConditions,
  markLatestCreatedFailed,
  markRevisionCreationFailed,
  setLatestCreatedRevisionName,
  setLatestReadyRevisionName,
} from '../configuration-lifecycle.js';
import { isControlledBy } from '../resources/owner-ref.js';
import { makeRevision, revisionNameFor } from '../resources/revision.js';
import { isRevisionReady } from '../traffic.js';
import type { Configuration, ConfigurationStatus, Revision } from '../types.js';
import { asKube, asServing, isAlreadyExists, type ReconcilerContext } from './context.js';
import { jsonEqual, keepTransitionTimes } from './status-diff.js';
import type { ReconcileKey, ReconcileResult } from './work-queue.js';
import { KubeApiError, type KubeObject } from '../../kube/index.js';

export async function reconcileConfiguration(ctx: ReconcilerContext, key: ReconcileKey): Promise<ReconcileResult> {
  const obj = ctx.listers.configurations.get(key.namespace, key.name);
  if (!obj || obj.metadata.deletionTimestamp) return {};
  const cfg = asServing<Configuration>(obj);
  const now = ctx.clock.now();
  let status: ConfigurationStatus = initializeConfigurationConditions(structuredClone(cfg.status ?? {}), now);

  const name = revisionNameFor(cfg);
  // The cache may lag our own create; ask the server before creating a second time.
  let revObj =
    ctx.listers.revisions.get(key.namespace, name) ?? (await ctx.client.tryGet(R.revisions, key.namespace, name));
  let createError: string | undefined;
  if (!revObj) {
    try {
      revObj = await ctx.client.create(R.revisions, asKube(makeRevision(cfg, now)));
      ctx.log.info({ namespace: key.namespace, configuration: key.name, revision: name }, 'created revision');
      ctx.recorder.event(obj, R.configurations, 'Normal', 'Created', `Created Revision ${JSON.stringify(name)}`);
    } catch (e) {
      if (isAlreadyExists(e)) revObj = await ctx.client.get(R.revisions, key.namespace, name);
      else if (e instanceof KubeApiError && e.status >= 400 && e.status < 500 && !e.isConflict) {
        createError = errorMessage(e);
        ctx.recorder.event(
          obj,
          R.configurations,
          'Warning',
          'CreationFailed',
          `Failed to create Revision: ${createError}`,
        );
      } else throw e;
    }
  }
  if (createError !== undefined) {
    status = markRevisionCreationFailed(status, now, createError);
  } else if (revObj) {
    const rev = asServing<Revision>(revObj);
    if (!isControlledBy(rev, 'Configuration', cfg)) {
      status = markRevisionCreationFailed(
        status,
        now,
        `revisions.serving.knative.dev ${JSON.stringify(name)} already exists and is not owned by Configuration ${JSON.stringify(key.name)}`,
      );
    } else {
      status = setLatestCreatedRevisionName(status, now, name);
      const ready = getCondition(rev.status, 'Ready');
      if (isRevisionReady(rev)) status = setLatestReadyRevisionName(status, now, name);
      else if (ready?.status === 'False')
        status = markLatestCreatedFailed(status, now, name, ready.message ?? ready.reason ?? '');
    }
  }
  status.observedGeneration = cfg.metadata?.generation ?? 0;
  status = keepTransitionTimes(cfg.status, status);
  if (!jsonEqual(status, cfg.status)) {
    await ctx.client.update(R.configurations, { ...obj, status }, 'status');
    recordConfigurationEvents(ctx, obj, cfg.status, status);
  }
  return {};
}

/** The Events pkg/reconciler/configuration records, decided from the status before and after. */
function recordConfigurationEvents(
  ctx: ReconcilerContext,
  obj: KubeObject,
  before: ConfigurationStatus | undefined,
  after: ConfigurationStatus,
): void {
  const ev = (type: 'Normal' | 'Warning', reason: string, msg: string): void =>
    ctx.recorder.event(obj, R.configurations, type, reason, msg);
  const latest = after.latestCreatedRevisionName ?? '';
  const readyBefore = getCondition(before, 'Ready');
  const readyAfter = getCondition(after, 'Ready');
  if (
    readyAfter?.status === 'False' &&
    readyAfter.reason === 'RevisionFailed' &&
    latest !== '' &&
    (readyAfter.message ?? '').startsWith(`Revision ${JSON.stringify(latest)} failed`) &&
    (readyBefore?.status !== readyAfter.status || readyBefore.message !== readyAfter.message)
  ) {
    if (latest === (before?.latestReadyRevisionName ?? ''))
      ev('Warning', 'LatestReadyFailed', `Latest ready revision ${JSON.stringify(latest)} has failed`);
    else ev('Warning', 'LatestCreatedFailed', `Latest created revision ${JSON.stringify(latest)} has failed`);
  }
  const oldReady = before?.latestReadyRevisionName ?? '';
  const newReady = after.latestReadyRevisionName ?? '';
  if (newReady !== '' && newReady !== oldReady) {
    if (oldReady === '') ev('Normal', 'ConfigurationReady', 'Configuration becomes ready');
    ev('Normal', 'LatestReadyUpdate', `LatestReadyRevisionName updated to ${JSON.stringify(newReady)}`);
  }
}
