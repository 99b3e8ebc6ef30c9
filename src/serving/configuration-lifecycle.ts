// Configuration status transitions (configuration_lifecycle.go): Ready only, driven by revision names.

import { ConditionSet, withConditions } from './conditions.js';
import type { ConfigurationStatus } from './types.js';

export const CONFIGURATION_CONDITIONS = ConditionSet.living();

type T = ConfigurationStatus;
const q = (s: string): string => JSON.stringify(s);
const on = (s: T | undefined, now: number, fn: Parameters<typeof withConditions>[3]): T =>
  withConditions(CONFIGURATION_CONDITIONS, s, now, fn);

export const initializeConfigurationConditions = (s: T | undefined, now: number): T =>
  on(s, now, (m) => m.initialize());

/** A new latest Revision makes the Configuration not ready until that Revision is. */
export function setLatestCreatedRevisionName(s: T | undefined, now: number, name: string): T {
  const next: T = { ...(s ?? {}), latestCreatedRevisionName: name };
  if (next.latestReadyRevisionName === name) return next;
  return on(next, now, (m) => m.markUnknown('Ready', '', ''));
}

export function setLatestReadyRevisionName(s: T | undefined, now: number, name: string): T {
  const next: T = { ...(s ?? {}), latestReadyRevisionName: name };
  if (next.latestReadyRevisionName !== next.latestCreatedRevisionName) return next;
  return on(next, now, (m) => m.markTrue('Ready'));
}

export const markLatestCreatedFailed = (s: T | undefined, now: number, name: string, message: string): T =>
  on(s, now, (m) => m.markFalse('Ready', 'RevisionFailed', `Revision ${q(name)} failed with message: ${message}.`));

export const markRevisionCreationFailed = (s: T | undefined, now: number, message: string): T =>
  on(s, now, (m) => m.markFalse('Ready', 'RevisionFailed', `Revision creation failed with message: ${message}.`));

export const markLatestReadyDeleted = (s: T | undefined, now: number): T =>
  on(s, now, (m) =>
    m.markFalse('Ready', 'RevisionDeleted', `Revision ${q(s?.latestReadyRevisionName ?? '')} was deleted.`),
  );
