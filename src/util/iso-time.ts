// RFC 3339 text of a time in ms, as Date#toISOString writes it, remembered for the few times in use at once.
//
// Every rollout judged in one analysis tick records the same round time (and its status the same last-round
// time): at 10,000 rollouts per second formatting it anew was a visible share of a decision.
const known = new Map<number, string>();
const KEEP = 64;

export function isoTime(ms: number): string {
  let s = known.get(ms);
  if (s === undefined) {
    s = new Date(ms).toISOString();
    if (known.size >= KEEP) known.clear();
    known.set(ms, s);
  }
  return s;
}
