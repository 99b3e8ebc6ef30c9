// Semantic checks the schema cannot express. Pre: the policy passed the schema (types are right), so these
// checks only look at meaning: weights that go down, placeholders that do not exist, empty queries...
import { scanTemplate, usesVariable } from '../analysis/template.js';
import { BUILTIN_METRICS, closestBuiltin, isBuiltin } from '../analysis/families.js';
import { parseDuration } from './duration.js';
import { promqlSyntaxError } from './promql-syntax.js';
import type { PathSegment } from './parse.js';
import type { CanaryStrategy, MetricSpec, RolloutPolicy } from './types.js';

export interface Problem {
  path: PathSegment[];
  detail: string;
  /** Point at the key rather than the value. */
  key?: boolean;
  offsetInValue?: number;
}

function checkDuration(out: Problem[], path: PathSegment[], text: string | undefined, allowZero = false): void {
  if (text === undefined) return;
  const ms = parseDuration(text);
  if (ms === undefined)
    out.push({ path, detail: `must be a duration such as 500ms, 1s, 5m or 1h; got ${JSON.stringify(text)}` });
  else if (ms <= 0 && !allowZero) out.push({ path, detail: `must be longer than 0; got ${JSON.stringify(text)}` });
}

function checkCanary(out: Problem[], c: CanaryStrategy, hasAnalysis: boolean): void {
  const base: PathSegment[] = ['spec', 'strategy', 'canary'];
  const styles = [
    c.steps !== undefined && 'steps',
    c.stepWeight !== undefined && 'stepWeight',
    c.stepWeights !== undefined && 'stepWeights',
  ].filter((s): s is string => typeof s === 'string');
  if (styles.length === 0)
    out.push({ path: base, detail: 'must set steps, or stepWeight (with interval), or stepWeights (with interval)' });
  if (styles.length > 1)
    out.push({
      path: [...base, styles[1] as string],
      detail: `set only one of steps, stepWeight, stepWeights; ${styles.join(' and ')} are both set`,
      key: true,
    });
  if (c.steps) {
    let last = -1;
    let lastIndex = -1;
    c.steps.forEach((s, i) => {
      if ('setWeight' in s) {
        if (s.setWeight <= last) {
          out.push({
            path: [...base, 'steps', i, 'setWeight'],
            detail: `weights must increase from step to step; ${s.setWeight} follows ${last} at steps[${lastIndex}]`,
          });
        }
        last = s.setWeight;
        lastIndex = i;
      } else if ('pause' in s) {
        checkDuration(out, [...base, 'steps', i, 'pause', 'duration'], s.pause.duration);
      } else if ('analysis' in s) {
        checkDuration(out, [...base, 'steps', i, 'analysis', 'duration'], s.analysis.duration);
        if (!hasAnalysis)
          out.push({
            path: [...base, 'steps', i, 'analysis'],
            detail: 'an analysis step needs spec.analysis with metrics to check',
          });
      }
    });
  } else {
    if (c.interval === undefined)
      out.push({ path: [...base, 'interval'], detail: 'is required with stepWeight or stepWeights' });
    checkDuration(out, [...base, 'interval'], c.interval);
    if (c.stepWeight !== undefined && c.maxWeight !== undefined && c.maxWeight < c.stepWeight) {
      out.push({
        path: [...base, 'maxWeight'],
        detail: `must be at least stepWeight (${c.stepWeight}); got ${c.maxWeight}`,
      });
    }
    c.stepWeights?.forEach((w, i) => {
      const prev = c.stepWeights?.[i - 1];
      if (prev !== undefined && w <= prev)
        out.push({ path: [...base, 'stepWeights', i], detail: `weights must increase; ${w} follows ${prev}` });
    });
  }
  if (c.steps === undefined && c.maxWeight !== undefined && c.stepWeight === undefined) {
    out.push({ path: [...base, 'maxWeight'], detail: 'applies only with stepWeight' });
  }
  if (c.canaryTag !== undefined && c.canaryTag === c.stableTag)
    out.push({ path: [...base, 'canaryTag'], detail: `must differ from stableTag (${c.stableTag})` });
}

function checkMetric(out: Problem[], m: MetricSpec, i: number): void {
  const base: PathSegment[] = ['spec', 'analysis', 'metrics', i];
  const query = m.query;
  if (query === undefined) {
    if (!isBuiltin(m.name)) {
      const near = closestBuiltin(m.name);
      out.push({
        path: [...base, 'name'],
        detail:
          `${JSON.stringify(m.name)} is not a builtin metric${near ? `; did you mean ${JSON.stringify(near)}?` : ''} ` +
          `Builtins: ${BUILTIN_METRICS.join(', ')}; any other metric needs a query`,
      });
    }
  } else {
    if (query.trim() === '')
      out.push({
        path: [...base, 'query'],
        detail:
          'must not be empty; write a PromQL template such as sum(rate(revision_request_count{revision_name="{{revision}}"}[{{interval}}])), or leave it out and name a builtin',
      });
    const scan = scanTemplate(query);
    for (const p of scan.problems)
      out.push({ path: [...base, 'query'], detail: `${p.detail} (at character ${p.offset + 1})` });
    if (query.trim() !== '' && scan.problems.length === 0) {
      const syntax = promqlSyntaxError(query);
      if (syntax)
        out.push({
          path: [...base, 'query'],
          detail: `is not valid PromQL: syntax error at character ${syntax.offset + 1}, near ${syntax.near}`,
        });
    }
  }
  if (m.percentile !== undefined) {
    if (!(m.percentile > 0 && m.percentile < 100))
      out.push({
        path: [...base, 'percentile'],
        detail: `must be between 0 and 100, exclusive (e.g. 99 or 99.9); got ${m.percentile}`,
      });
    else if (query !== undefined || m.name !== 'request-duration')
      out.push({
        path: [...base, 'percentile'],
        detail: 'applies only to the builtin request-duration (a metric with that name and no query)',
        key: true,
      });
  }
  const judge = m.judge?.type ?? 'threshold';
  if (judge === 'threshold') {
    if (!m.thresholdRange)
      out.push({
        path: [...base, 'thresholdRange'],
        detail: 'is required unless judge is {type: mannWhitney}; e.g. thresholdRange: {min: 0.99}',
      });
  }
  if (
    m.thresholdRange?.min !== undefined &&
    m.thresholdRange.max !== undefined &&
    m.thresholdRange.min > m.thresholdRange.max
  ) {
    out.push({
      path: [...base, 'thresholdRange', 'min'],
      detail: `must not exceed max (${m.thresholdRange.max}); got ${m.thresholdRange.min}`,
    });
  }
  if (m.judge?.type === 'mannWhitney' && query !== undefined) {
    if (!usesVariable(query, 'revision'))
      out.push({
        path: [...base, 'query'],
        detail:
          'a mannWhitney metric must select one revision with {{revision}}; it is evaluated for the canary and for the stable revision',
      });
    if (usesVariable(query, 'stableRevision'))
      out.push({
        path: [...base, 'query'],
        detail:
          'a mannWhitney metric must not use {{stableRevision}}; the judge already compares with the stable revision',
      });
  }
  if (m.judge?.type === 'mannWhitney') {
    checkDuration(out, [...base, 'judge', 'lookback'], m.judge.lookback);
    checkDuration(out, [...base, 'judge', 'resolution'], m.judge.resolution);
  }
  checkDuration(out, [...base, 'noDataTimeout'], m.noDataTimeout);
  if ((m.noDataTimeout !== undefined || m.onNoDataTimeout !== undefined) && (m.onNoData ?? 'hold') !== 'hold') {
    out.push({
      path: [...base, m.noDataTimeout !== undefined ? 'noDataTimeout' : 'onNoDataTimeout'],
      detail: `applies only to onNoData: hold; onNoData is ${m.onNoData}`,
      key: true,
    });
  }
}

/** Every semantic problem in `p`, in document order of the fields checked. */
export function semanticProblems(p: RolloutPolicy): Problem[] {
  const out: Problem[] = [];
  const s = p.spec;
  const hasAnalysis = s.analysis !== undefined;
  if (s.strategy.canary) checkCanary(out, s.strategy.canary, hasAnalysis);
  if (s.strategy.blueGreen) {
    const bg = s.strategy.blueGreen;
    checkDuration(
      out,
      ['spec', 'strategy', 'blueGreen', 'prePromotionAnalysis', 'duration'],
      bg.prePromotionAnalysis?.duration,
    );
    if (bg.prePromotionAnalysis && !hasAnalysis)
      out.push({
        path: ['spec', 'strategy', 'blueGreen', 'prePromotionAnalysis'],
        detail: 'needs spec.analysis with metrics to check',
      });
    if (bg.previewTag !== undefined && bg.previewTag === bg.stableTag)
      out.push({
        path: ['spec', 'strategy', 'blueGreen', 'previewTag'],
        detail: `must differ from stableTag (${bg.stableTag})`,
      });
  }
  if (s.strategy.abTest) {
    const ab = s.strategy.abTest;
    checkDuration(out, ['spec', 'strategy', 'abTest', 'duration'], ab.duration);
    ab.match.forEach((m, i) => {
      const kind = 'header' in m ? 'header' : 'cookie';
      const sm = 'header' in m ? m.header : m.cookie;
      if (sm.regex !== undefined) {
        try {
          new RegExp(sm.regex);
        } catch (e) {
          out.push({
            path: ['spec', 'strategy', 'abTest', 'match', i, kind, 'regex'],
            detail: `is not a valid regular expression: ${e instanceof Error ? e.message : String(e)}`,
          });
        }
      }
    });
    if (ab.analysis && !hasAnalysis)
      out.push({
        path: ['spec', 'strategy', 'abTest', 'analysis'],
        detail: 'needs spec.analysis with metrics to check',
      });
  }
  if (s.analysis) {
    checkDuration(out, ['spec', 'analysis', 'interval'], s.analysis.interval);
    checkDuration(out, ['spec', 'analysis', 'window'], s.analysis.window);
    const names = new Map<string, number>();
    s.analysis.metrics.forEach((m, i) => {
      const prev = names.get(m.name);
      if (prev !== undefined)
        out.push({
          path: ['spec', 'analysis', 'metrics', i, 'name'],
          detail: `duplicate metric name ${JSON.stringify(m.name)}; first used at metrics[${prev}]`,
        });
      else names.set(m.name, i);
      checkMetric(out, m, i);
    });
  }
  checkDuration(out, ['spec', 'progressDeadline'], s.progressDeadline);
  s.alerts?.forEach((a, i) => {
    if (a.type === 'broker') {
      // A Broker is found by name through the API; its address comes from its status, never from the policy.
      if (a.broker === undefined)
        out.push({ path: ['spec', 'alerts', i, 'broker'], detail: 'is required for type broker' });
      for (const f of ['url', 'urls', 'secretRef', 'mode'] as const)
        if (a[f] !== undefined)
          out.push({
            path: ['spec', 'alerts', i, f],
            detail: `does not apply to type broker (the Broker's address is read from its status)`,
          });
      return;
    }
    for (const f of ['broker', 'namespace'] as const)
      if (a[f] !== undefined) out.push({ path: ['spec', 'alerts', i, f], detail: 'applies only to type broker' });
    // A Slack incoming-webhook URL is itself the secret, so it may come from secretRef alone.
    const fromSecret = a.type === 'slack' && a.secretRef !== undefined;
    if (a.url === undefined && (a.urls ?? []).length === 0 && !fromSecret) {
      out.push({
        path: ['spec', 'alerts', i, 'url'],
        detail: `is required for type ${a.type}${a.type === 'slack' ? ' (or a secretRef holding the incoming-webhook URL)' : ''}`,
      });
    }
  });
  return out;
}
