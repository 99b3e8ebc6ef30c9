// rollout/machine: the pure rollout state machine. `step(state, observations, now)` decides; a runner acts.
// Nothing here reads a clock, a socket or a file.
export {
  step,
  initialState,
  desiredTraffic,
  judgeRound,
  isTerminal,
  rollbackTarget,
  type JudgedRound,
} from './machine.js';
export { makePlan, DEFAULTS, type Plan, type PlanStep, type PlanAnalysis, type PlanMetric } from './plan.js';
export { toStatus, type RolloutStatus } from './status.js';
export * from './types.js';
