// rollout/: the brain. Policy schema and parsing (policy/), the pure rollout machine (machine/), analysis
// against Prometheus (analysis/). The controller that persists state and performs actions builds on these.
export * from './errors.js';
export * from './policy/index.js';
export * from './machine/index.js';
export * from './analysis/index.js';
