// Smooth weighted round-robin (nginx's algorithm): deterministic, and exact over every cycle of
// sum(weights) picks, with the picks of each target spread out instead of bunched. Example for 50/25/25:
// a b c a | a b c a | … — after any 100 picks the counts are exactly 50, 25, 25.

export interface WeightedItem<T> {
  value: T;
  /** Non-negative; items with weight 0 are never picked. */
  weight: number;
}

export class SmoothWeightedRoundRobin<T> {
  readonly #items: Array<{ value: T; weight: number; current: number }>;
  readonly #total: number;

  constructor(items: Array<WeightedItem<T>>) {
    this.#items = items.filter((i) => i.weight > 0).map((i) => ({ value: i.value, weight: i.weight, current: 0 }));
    this.#total = this.#items.reduce((s, i) => s + i.weight, 0);
  }

  get size(): number {
    return this.#items.length;
  }

  /** The next item, or undefined when every weight is 0. */
  next(): T | undefined {
    let best: { value: T; weight: number; current: number } | undefined;
    for (const it of this.#items) {
      it.current += it.weight;
      if (!best || it.current > best.current) best = it;
    }
    if (!best) return undefined;
    best.current -= this.#total;
    return best.value;
  }
}
