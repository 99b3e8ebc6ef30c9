// ISO-8601 periods as Knative's delivery fields use them (`PT0.2S`, `PT1M`, `P1D`), parsed the way
// github.com/rickb777/date/period does: designators in order, one decimal digit of precision kept (the
// period is stored in tenths), years and months converted with the average Gregorian lengths.

const MS = { Y: 365.2425 * 86_400_000, Mo: 30.436875 * 86_400_000, W: 7 * 86_400_000, D: 86_400_000 };
const TIME_MS = { H: 3_600_000, M: 60_000, S: 1000 };

/** Milliseconds in `text`, or undefined when it is not an ISO-8601 period. */
export function parsePeriodMs(text: string): number | undefined {
  const m =
    /^([-+]?)P(?:(\d+(?:[.,]\d+)?)Y)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)W)?(?:(\d+(?:[.,]\d+)?)D)?(?:T(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/.exec(
      text,
    );
  if (!m) return undefined;
  const parts = m.slice(2);
  if (parts.every((p) => p === undefined)) return undefined;
  // `PT` with nothing after it is not a period either.
  if (text.endsWith('T')) return undefined;
  const tenths = (p: string | undefined): number => {
    if (p === undefined) return 0;
    const [whole = '0', frac = ''] = p.replace(',', '.').split('.');
    return Number(whole) * 10 + Number((frac + '0').slice(0, 1));
  };
  const [y, mo, w, d, h, mi, s] = parts.map(tenths) as [number, number, number, number, number, number, number];
  const ms = (y * MS.Y + mo * MS.Mo + w * MS.W + d * MS.D + h * TIME_MS.H + mi * TIME_MS.M + s * TIME_MS.S) / 10;
  return Math.round(m[1] === '-' ? -ms : ms);
}
