// Rollout.status as contract 5 names it, derived from the machine's state (which is stored whole in
// status.state so a restarted controller resumes the same decision).
import { isoTime } from '../../util/iso-time.js';
import type { RolloutState, TrafficTarget } from './types.js';

export interface RolloutStatus {
  phase: RolloutState['phase'];
  strategy: RolloutState['strategy'];
  stableRevision: string;
  canaryRevision: string;
  canaryWeight: number;
  currentStep: number;
  totalSteps: number;
  message: string;
  traffic: TrafficTarget[];
  analysis: {
    consecutiveFailures: number;
    totalFailures: number;
    lastRoundAt?: string;
    holding: boolean;
    lastResults: { metric: string; status: string; value?: number; reason?: string }[];
  };
  state: RolloutState;
}

export function toStatus(s: RolloutState): RolloutStatus {
  const analysis: RolloutStatus['analysis'] = {
    consecutiveFailures: s.analysis.consecutiveFailures,
    totalFailures: s.analysis.totalFailures,
    holding: s.analysis.holding.length > 0,
    lastResults: s.analysis.lastResults.map((r) => {
      const o: { metric: string; status: string; value?: number; reason?: string } = {
        metric: r.metric,
        status: r.status,
      };
      if (r.value !== null && Number.isFinite(r.value)) o.value = r.value;
      if (r.reason !== undefined) o.reason = r.reason;
      return o;
    }),
  };
  if (s.analysis.lastRoundAt !== null) analysis.lastRoundAt = isoTime(s.analysis.lastRoundAt);
  return {
    phase: s.phase,
    strategy: s.strategy,
    stableRevision: s.stableRevision,
    canaryRevision: s.canaryRevision,
    canaryWeight: s.canaryWeight,
    currentStep: s.currentStep,
    totalSteps: s.totalSteps,
    message: s.message,
    traffic: s.traffic,
    analysis,
    state: s,
  };
}
