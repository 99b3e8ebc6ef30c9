// Terminal output for watch views: redraw only the lines that changed (in the alternate screen, as `top`
// does), or append whole frames when the output is not a terminal that can move its cursor. Colours and
// glyphs follow NO_COLOR (https://no-color.org), --no-color, TERM=dumb and --ascii.

export interface TermStyle {
  color: boolean;
  ascii: boolean;
  /** Cursor addressing (a TTY that is not TERM=dumb): redraw in place; else append frames. */
  inPlace: boolean;
}

/** Pre: `env` is the process environment; `isTTY` whether stdout is a terminal. */
export function termStyle(
  o: { noColor?: boolean; ascii?: boolean },
  env: Record<string, string | undefined>,
  isTTY: boolean,
): TermStyle {
  const dumb = env.TERM === 'dumb';
  return {
    color: isTTY && !dumb && !o.noColor && !(env.NO_COLOR !== undefined && env.NO_COLOR !== ''),
    ascii: o.ascii === true || dumb,
    inPlace: isTTY && !dumb,
  };
}

const SGR: Record<string, string> = { red: '31', green: '32', yellow: '33', blue: '34', bold: '1', dim: '2' };

export function paint(style: TermStyle, c: keyof typeof SGR, s: string): string {
  return style.color && s ? `\x1b[${SGR[c]}m${s}\x1b[0m` : s;
}

/**
 * The bytes that turn screen `prev` into `next`: for each line that differs, move to it, write it, clear the
 * rest of the line; lines beyond the new frame are cleared. Empty when nothing changed.
 */
export function diffFrame(prev: readonly string[], next: readonly string[]): string {
  let out = '';
  const n = Math.max(prev.length, next.length);
  for (let i = 0; i < n; i++) {
    if (prev[i] === next[i]) continue;
    out += `\x1b[${i + 1};1H${next[i] ?? ''}\x1b[K`;
  }
  return out;
}

/** A screen that redraws only changed lines (alternate buffer, cursor hidden until stop). */
export class LineScreen {
  #prev: string[] = [];
  #started = false;
  constructor(private readonly write: (s: string) => void) {}

  draw(frame: string): void {
    const lines = frame.replace(/\n$/, '').split('\n');
    if (!this.#started) {
      this.#started = true;
      this.write('\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J');
    }
    const d = diffFrame(this.#prev, lines);
    if (d) this.write(d);
    this.#prev = lines;
  }

  stop(): void {
    if (this.#started) this.write('\x1b[?25h\x1b[?1049l');
    this.#started = false;
  }
}
