// Waiting for a Service to become Ready, as kn does (pkg/wait/wait_for_ready.go): watch from the
// resourceVersion of our own write, skip events whose status.observedGeneration lags metadata.generation,
// print the Ready condition's message whenever it changes (`...` when it repeats), succeed on Ready True,
// fail when Ready stays False for the error window, and give up after the timeout.
import type { KubeClient, KubeObject, WatchHandle } from '../../kube/index.js';
import { R } from '../../kube/index.js';
import type { Clock } from '../../util/clock.js';
import type { Condition } from '../../serving/types.js';
import { KnError } from './errors.js';
import { progressLine } from './format.js';

export interface WaitOptions {
  timeoutMs: number;
  /** How long Ready may stay False before the wait fails (kn's --wait-window, default 2 s). */
  errorWindowMs: number;
  clock: Clock;
  out(text: string): void;
}

/** What one observed object means for the wait; pure. */
export type WaitStep = { kind: 'skip' } | { kind: 'ready' } | { kind: 'progress'; message: string; failed?: string };

export function observe(obj: KubeObject): WaitStep {
  const status = obj['status'] as { observedGeneration?: number; conditions?: Condition[] } | undefined;
  if (!status || status.observedGeneration === undefined || status.observedGeneration !== obj.metadata.generation)
    return { kind: 'skip' };
  const ready = (status.conditions ?? []).find((c) => c.type === 'Ready');
  if (!ready) return { kind: 'skip' };
  if (ready.status === 'True') return { kind: 'ready' };
  const step: WaitStep = { kind: 'progress', message: ready.message ?? '' };
  if (ready.status === 'False') step.failed = `${ready.reason ?? ''}: ${ready.message ?? ''}`;
  return step;
}

/**
 * Resolves with the elapsed milliseconds when the Service is Ready; rejects with kn's messages
 * (`timeout: service 'hello' not ready after 600 seconds`, or `Reason: message` after the window).
 */
export function waitForServiceReady(
  client: KubeClient,
  namespace: string,
  name: string,
  resourceVersion: string | undefined,
  o: WaitOptions,
): Promise<number> {
  const start = o.clock.now();
  const elapsed = (): number => o.clock.now() - start;
  return new Promise<number>((resolvePromise, rejectPromise) => {
    let watch: WatchHandle | undefined;
    let finished = false;
    let lastMessage: string | undefined;
    let errorTimer: NodeJS.Timeout | undefined;
    let rv = resourceVersion;
    const finish = (err: Error | undefined): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timeout);
      if (errorTimer) clearTimeout(errorTimer);
      watch?.stop();
      if (err) rejectPromise(err);
      else resolvePromise(elapsed());
    };
    const timeout = setTimeout(
      () =>
        finish(
          new KnError(
            'SLUICE_ERR_KN_WAIT_TIMEOUT',
            `timeout: service '${name}' not ready after ${Math.trunc(o.timeoutMs / 1000)} seconds`,
          ),
        ),
      o.timeoutMs,
    );

    const onObject = (obj: KubeObject): void => {
      if (obj.metadata.resourceVersion) rv = obj.metadata.resourceVersion;
      if (obj.metadata.name !== name) return;
      const step = observe(obj);
      if (step.kind === 'skip') return;
      if (step.kind === 'ready') return finish(undefined);
      if (step.failed !== undefined) {
        if (!errorTimer) {
          const failure = step.failed;
          errorTimer = setTimeout(() => finish(new KnError('SLUICE_ERR_KN_WAIT_FAILED', failure)), o.errorWindowMs);
        }
      } else if (errorTimer) {
        clearTimeout(errorTimer);
        errorTimer = undefined;
      }
      if (step.message !== '') {
        o.out(progressLine(elapsed(), step.message === lastMessage ? '...' : step.message));
        lastMessage = step.message;
      }
    };

    const startWatch = async (): Promise<void> => {
      if (finished) return;
      try {
        watch = await client.watch(
          R.services,
          namespace,
          { fieldSelector: `metadata.name=${name}`, resourceVersion: rv, allowWatchBookmarks: true },
          (type, obj) => {
            if (type === 'MODIFIED' || type === 'ADDED') onObject(obj);
            else if (type === 'BOOKMARK' && obj.metadata.resourceVersion) rv = obj.metadata.resourceVersion;
            else if (type === 'DELETED')
              finish(
                new KnError(
                  'SLUICE_ERR_KN_WAIT_DELETED',
                  `service '${name}' was deleted while waiting for it to become ready`,
                ),
              );
          },
          () => {
            // The stream ended (server timeout, restart): resume from the last resourceVersion seen.
            if (!finished) setTimeout(() => void startWatch(), 200);
          },
        );
        if (finished) watch.stop();
      } catch (e) {
        finish(e instanceof Error ? e : new Error(String(e)));
      }
    };
    void startWatch();
  });
}
