// Column alignment the way Go's text/tabwriter does it, because kn prints every table and describe
// layout through it: kn's listings use (minwidth 6, tabwidth 4, padding 3, ' ', TabIndent) and its
// describe output (0, 8, 2, ' ', 0). Reproducing the algorithm (not just "pad every column") matters:
// Go aligns a column only across a *block* of consecutive lines that all have a tab-terminated cell in
// that column, and the text after a line's last tab never counts towards any width. That is why
// `Revisions:` and the `Image:`/`Replicas:` lines under each revision line up independently.
//
// Worked example (padding 2): "Name:\thello", "Namespace:\tdefault" form one block for column 0 of
// width len("Namespace:") + 2 = 12, so the first line prints as "Name:" + 7 spaces + "hello".

export interface TabWriterOptions {
  minWidth: number;
  tabWidth: number;
  padding: number;
  /** Go's TabIndent flag: leading empty cells are written as tabs. */
  tabIndent: boolean;
}

/** kn's `printers.NewTabWriter`, used for list tables. */
export const LIST_TABWRITER: TabWriterOptions = { minWidth: 6, tabWidth: 4, padding: 3, tabIndent: true };
/** kn's `printers.NewPrefixWriter`, used for describe output. */
export const DESCRIBE_TABWRITER: TabWriterOptions = { minWidth: 0, tabWidth: 8, padding: 2, tabIndent: false };

interface Cell {
  text: string;
  /** Display width (code points). */
  width: number;
}

function displayWidth(s: string): number {
  return [...s].length;
}

/**
 * Buffers text and formats it into aligned columns. `write` accepts any text; `flush` returns the
 * formatted output and empties the buffer. As in Go, a line without a tab flushes what came before it.
 */
export class TabWriter {
  readonly #o: TabWriterOptions;
  #lines: Cell[][] = [[]];
  #cell = '';
  #out = '';

  constructor(o: TabWriterOptions) {
    this.#o = o;
  }

  write(text: string): void {
    for (const ch of text) {
      if (ch === '\t') {
        this.#terminateCell();
      } else if (ch === '\n') {
        const n = this.#terminateCell();
        this.#lines.push([]);
        // A line with one cell cannot affect later alignment (its only cell is the trailing text).
        if (n === 1) this.#format();
      } else {
        this.#cell += ch;
      }
    }
  }

  /** Formats everything buffered and returns the whole output so far. */
  flush(): string {
    if (this.#cell.length > 0) this.#terminateCell();
    this.#format();
    const out = this.#out;
    this.#out = '';
    return out;
  }

  #terminateCell(): number {
    const line = this.#lines[this.#lines.length - 1]!;
    line.push({ text: this.#cell, width: displayWidth(this.#cell) });
    this.#cell = '';
    return line.length;
  }

  #format(): void {
    // The last line is the one being filled; keep it unless it is empty and complete.
    const last = this.#lines[this.#lines.length - 1]!;
    const complete = last.length === 0 && this.#cell === '';
    const lines = complete ? this.#lines.slice(0, -1) : this.#lines;
    if (lines.length === 0) return;
    this.#formatBlock(lines, 0, lines.length, []);
    this.#lines = [[]];
    if (!complete) {
      // Not reachable from write() (format runs right after a newline); flush() terminated the cell.
      this.#out = this.#out.replace(/\n$/, '');
    }
  }

  #formatBlock(lines: Cell[][], line0: number, line1: number, widths: number[]): void {
    const column = widths.length;
    let start = line0;
    for (let i = line0; i < line1; i++) {
      if (column >= lines[i]!.length - 1) continue;
      // Line i starts a block of lines with a cell in this column.
      this.#writeLines(lines, start, i, widths);
      start = i;
      let width = this.#o.minWidth;
      let j = i;
      for (; j < line1; j++) {
        const line = lines[j]!;
        if (column >= line.length - 1) break;
        const w = line[column]!.width + this.#o.padding;
        if (w > width) width = w;
      }
      this.#formatBlock(lines, start, j, [...widths, width]);
      start = j;
      i = j - 1;
    }
    this.#writeLines(lines, start, line1, widths);
  }

  #writeLines(lines: Cell[][], line0: number, line1: number, widths: number[]): void {
    for (let i = line0; i < line1; i++) {
      const line = lines[i]!;
      let useTabs = this.#o.tabIndent;
      let s = '';
      line.forEach((c, j) => {
        if (c.text.length === 0) {
          if (j < widths.length) s += this.#padding(c.width, widths[j]!, useTabs);
        } else {
          useTabs = false;
          s += c.text;
          if (j < widths.length) s += this.#padding(c.width, widths[j]!, false);
        }
      });
      this.#out += s + '\n';
    }
  }

  #padding(textWidth: number, cellWidth: number, useTabs: boolean): string {
    if (useTabs) {
      if (this.#o.tabWidth === 0) return '';
      const cw = Math.ceil(cellWidth / this.#o.tabWidth) * this.#o.tabWidth;
      return '\t'.repeat(Math.ceil((cw - textWidth) / this.#o.tabWidth));
    }
    return ' '.repeat(Math.max(0, cellWidth - textWidth));
  }
}

/** Formats `text` (tab-separated cells, newline-terminated lines) in one go. */
export function tabulate(text: string, o: TabWriterOptions): string {
  const w = new TabWriter(o);
  w.write(text);
  return w.flush();
}

/**
 * kn's PrefixWriter: attributes ("Label:\tvalue") and nested sections indented by two spaces, or by one
 * column for the sub-attributes of a row. Output goes through one TabWriter with describe settings.
 */
export class PrefixWriter {
  readonly #tw: TabWriter;
  readonly #parent: PrefixWriter | undefined;
  readonly #colIndent: number;
  readonly #spaceIndent: number;
  readonly #sink: { out: string };

  constructor(tw?: TabWriter, parent?: PrefixWriter, colIndent = 0, spaceIndent = 0, sink?: { out: string }) {
    this.#tw = tw ?? new TabWriter(DESCRIBE_TABWRITER);
    this.#parent = parent;
    this.#colIndent = colIndent;
    this.#spaceIndent = spaceIndent;
    this.#sink = sink ?? { out: '' };
  }

  /** Writes text with this writer's indentation prefixed. */
  write(text: string): void {
    const prefix = '  '.repeat(this.#spaceIndent) + '\t'.repeat(this.#colIndent);
    if (this.#parent) this.#parent.write(prefix + text);
    else this.#tw.write(prefix + text);
  }

  /** Columns separated by tabs; returns a writer for sub-attributes in the last column. */
  writeCols(...cols: string[]): PrefixWriter {
    this.write(cols.join('\t'));
    return new PrefixWriter(this.#tw, this, 1, 0, this.#sink);
  }

  writeColsLn(...cols: string[]): PrefixWriter {
    const ret = this.writeCols(...cols);
    this.writeLine();
    return ret;
  }

  /** A bare newline (no indentation). */
  writeLine(): void {
    this.#tw.write('\n');
  }

  /** `Label:<tab>value`; returns a writer for nested attributes, indented two spaces. */
  writeAttribute(label: string, value: string): PrefixWriter {
    this.writeColsLn(`${label}:`, value);
    return new PrefixWriter(this.#tw, this, 0, 1, this.#sink);
  }

  flush(): void {
    this.#sink.out += this.#tw.flush();
  }

  /** Flushes and returns everything written. */
  toString(): string {
    this.flush();
    return this.#sink.out;
  }
}
