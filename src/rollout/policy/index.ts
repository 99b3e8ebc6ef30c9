// rollout/policy: RolloutPolicy types, the schema from deploy/crds, and parsing with file:line:column.
export * from './types.js';
export { parseDuration, formatPromDuration } from './duration.js';
export {
  parsePolicies,
  loadPolicyDir,
  formatPath,
  type ParsedPolicy,
  type ParseResult,
  type PathSegment,
} from './parse.js';
export { semanticProblems, type Problem } from './validate.js';
export { loadCrdSchema, findCrdFile, policyValidator, strictify, CRD_FILE, type JsonSchema } from './schema.js';
