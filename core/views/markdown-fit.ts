// Fits blocks of a markdown comment into a character budget. A block is cut only between its
// items and always keeps its opening and closing text, so a cut never leaves a <details> or a
// code fence open. Knows nothing of plans: what a block says when cut is the caller's. Pure.

/** `open`, the items shown, the `more` text, `close`. */
export interface Block {
  open: string;
  items: readonly string[];
  /** What stands before `close` when `left` items are left out (also called with 0). */
  more: (left: number) => string;
  close: string;
  /** Shown even with no item (a table keeps its header); otherwise such a block is left out. */
  keepEmpty?: boolean;
}

/** How much of a block is shown: `shown` items (0 and text "" = left out). */
export interface Fit {
  shown: number;
  text: string;
}

export function renderBlock(b: Block, shown: number): string {
  return b.open + b.items.slice(0, shown).join("") + b.more(b.items.length - shown) + b.close;
}

export function wholeLength(b: Block): number {
  return b.open.length + b.items.reduce((n, s) => n + s.length, 0) + b.more(0).length + b.close.length;
}

/** The most of `b` that fits in `budget` characters: whole, cut after some items, or nothing. */
export function fitBlock(b: Block, budget: number): Fit {
  const n = b.items.length;
  if (wholeLength(b) <= budget) return { shown: n, text: renderBlock(b, n) };
  const frame = b.open.length + b.close.length;
  let best = -1;
  let used = 0;
  for (let k = 0; k < n; k++) {
    if (frame + used > budget) break; // `more` only adds: no later k fits either
    if ((k > 0 || b.keepEmpty) && frame + used + b.more(n - k).length <= budget) best = k;
    used += b.items[k]!.length;
  }
  return best < 0 ? { shown: 0, text: "" } : { shown: best, text: renderBlock(b, best) };
}

/**
 * Blocks of one group in order: each whole when it fits, else cut, else left out; a block that
 * does not fit does not stop the later ones, which may be smaller.
 */
export function fitGroup(blocks: readonly Block[], budget: number): Fit[] {
  let left = budget;
  return blocks.map((b) => {
    const fit = fitBlock(b, left);
    left -= fit.text.length;
    return fit;
  });
}

/**
 * Shares `budget` between groups so one huge group cannot starve the others: each group gets
 * up to an equal share, what a smaller group leaves goes to the larger ones (water-filling),
 * and what cutting at item boundaries leaves over is offered again to the groups in order.
 */
export function fitGroups(groups: readonly (readonly Block[])[], budget: number): Fit[][] {
  const sizes = groups.map((g) => g.reduce((n, b) => n + wholeLength(b), 0));
  const caps = waterFill(sizes, Math.max(0, budget));
  const fits = groups.map((g, i) => fitGroup(g, caps[i]!));
  const usedBy = (i: number) => fits[i]!.reduce((n, f) => n + f.text.length, 0);
  for (let i = 0; i < groups.length; i++) {
    const spare = budget - fits.reduce((n, _f, j) => n + usedBy(j), 0);
    if (spare <= 0) break;
    fits[i] = fitGroup(groups[i]!, usedBy(i) + spare);
  }
  return fits;
}

/** Caps summing to at most `budget`: a size below the common level gets all it needs. */
function waterFill(sizes: readonly number[], budget: number): number[] {
  const caps = sizes.map(() => 0);
  const order = sizes.map((_s, i) => i).sort((a, b) => sizes[a]! - sizes[b]!);
  let left = budget;
  order.forEach((i, k) => {
    const share = Math.floor(left / (order.length - k));
    caps[i] = Math.min(sizes[i]!, share);
    left -= caps[i]!;
  });
  return caps;
}
