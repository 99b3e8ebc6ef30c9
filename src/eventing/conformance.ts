// Runs one Knative Eventing test vector (shared/conformance/FORMAT.md, Eventing kinds) through Sluice's
// Eventing semantics. The case shape, not its id, selects what runs; every output is computed.
import { isRecord } from '../serving/json.js';
import { admitEventing } from './admission.js';
import { brokerDefaultsFrom } from './broker-defaults.js';
import { reconcileBrokerStatus, type Resolution } from './broker-lifecycle.js';
import { backoffDelayMs, featuresFrom, isFailure, isRetriable, maxRetries } from './delivery.js';
import { triggerFilter } from './filter.js';
import { reconcileTriggerStatus, type TriggerObservation } from './trigger-lifecycle.js';
import type { Broker, Condition, DeliverySpec, Trigger } from './types.js';

type Input = Record<string, unknown>;
export type EventingOutcome = { ok: boolean; result: Record<string, unknown> };

export const EVENTING_CASE_KINDS = [
  'broker-validation',
  'trigger-validation',
  'trigger-filter',
  'delivery-backoff',
  'broker-status',
] as const;

const obj = (v: unknown): Input => (isRecord(v) ? v : {});

/** Conditions as Go prints them before omitempty: reason and message always strings. */
const conditionsOut = (cs: Condition[] | undefined): Condition[] =>
  (cs ?? []).map((c) => ({ ...c, reason: c.reason ?? '', message: c.message ?? '' }));

/** Undefined when `kind` is not an Eventing kind. */
export function runEventingCase(kind: string, input: Input, now = Date.UTC(2026, 0, 1)): EventingOutcome | undefined {
  switch (kind) {
    case 'broker-validation':
    case 'trigger-validation':
      return runValidation(kind, input);
    case 'trigger-filter':
      return runFilter(input);
    case 'delivery-backoff':
      return runBackoff(input);
    case 'broker-status':
      return runStatus(input, now);
    default:
      return undefined;
  }
}

function runValidation(kind: string, input: Input): EventingOutcome {
  const object = obj(input['object']);
  const k = kind === 'broker-validation' ? 'Broker' : 'Trigger';
  const op = input['operation'] === 'update' ? 'UPDATE' : 'CREATE';
  const r = admitEventing(k, op, object, input['oldObject'], {
    brokerDefaults: brokerDefaultsFrom(input['brDefaults']),
    features: featuresFrom(obj(input['features'])),
  });
  if (!r.ok) return { ok: false, result: { error: r.error.error(), paths: r.error.allPaths() } };
  return { ok: true, result: { defaulted: r.object } };
}

function runFilter(input: Input): EventingOutcome {
  const trigger = obj(input['trigger']) as Trigger;
  const event: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj(input['event']))) event[k] = String(v);
  return { ok: true, result: { pass: triggerFilter(trigger.spec, event) !== 'fail' } };
}

function runBackoff(input: Input): EventingOutcome {
  const delivery = obj(input['delivery']) as DeliverySpec;
  const result: Record<string, unknown> = {};
  const status = typeof input['statusCode'] === 'number' ? input['statusCode'] : undefined;
  if (typeof input['attempt'] === 'number') {
    result['delayMs'] = backoffDelayMs(delivery, input['attempt'], {
      ...(status !== undefined ? { statusCode: status } : {}),
      ...(typeof input['retryAfter'] === 'number' ? { retryAfterSeconds: input['retryAfter'] } : {}),
    });
    result['retries'] = maxRetries(delivery);
  } else if (status !== undefined) {
    result['retry'] = isRetriable(status) && maxRetries(delivery) > 0;
    result['failure'] = isFailure(status);
  }
  return { ok: true, result };
}

const resolution = (v: unknown): Resolution | undefined => {
  if (!isRecord(v)) return undefined;
  if (typeof v['error'] === 'string') return { error: v['error'] };
  if (typeof v['uri'] === 'string') return { uri: v['uri'] };
  return undefined;
};

function runStatus(input: Input, now: number): EventingOutcome {
  if (input['trigger'] !== undefined) {
    const t = obj(input['trigger']) as Trigger;
    const sub = input['subscription'];
    const obs: TriggerObservation = {
      broker: isRecord(input['broker']) ? (input['broker'] as Broker) : null,
      subscription: isRecord(sub) ? (sub as TriggerObservation['subscription']) : null,
    };
    const s = resolution(input['subscriber']);
    if (s) obs.subscriber = s;
    const d = resolution(input['deadLetterSink']);
    if (d) obs.deadLetterSink = d;
    const r = reconcileTriggerStatus(t, obs, now);
    return {
      ok: r.error === undefined,
      result: {
        conditions: conditionsOut(r.status.conditions),
        subscriberUri: r.status.subscriberUri ?? null,
        deadLetterSinkUri: r.status.deadLetterSinkUri ?? null,
        ...(r.error !== undefined ? { error: r.error } : {}),
      },
    };
  }
  const b = obj(input['broker']) as Broker;
  const dls = resolution(input['deadLetterSink']);
  const r = reconcileBrokerStatus(b, dls ? { deadLetterSink: dls } : {}, now);
  return {
    ok: r.error === undefined,
    result: {
      conditions: conditionsOut(r.status.conditions),
      address: r.status.address ?? null,
      deadLetterSinkUri: r.status.deadLetterSinkUri ?? null,
      ...(r.error !== undefined ? { error: r.error } : {}),
    },
  };
}

/** A whole case (`{id, kind, input}`) → its output line, or undefined when the kind is not Eventing's. */
export function runEventingConformanceCase(
  c: unknown,
): { id: string; ok: boolean; result: Record<string, unknown> } | undefined {
  const rec = obj(c);
  const kind = String(rec['kind'] ?? '');
  if (!(EVENTING_CASE_KINDS as readonly string[]).includes(kind)) return undefined;
  const id = typeof rec['id'] === 'string' ? rec['id'] : '';
  try {
    const out = runEventingCase(kind, obj(rec['input']));
    return { id, ...(out ?? { ok: false, result: { error: `unknown case kind ${JSON.stringify(kind)}` } }) };
  } catch (e) {
    return { id, ok: false, result: { error: `internal error: ${e instanceof Error ? e.message : String(e)}` } };
  }
}
