/**
 * Edit distance for "did you mean …?" hints on misspelt keys and field names. Inputs are short
 * (field names, secret keys), so the plain O(n·m) Levenshtein is plenty.
 */

/** Levenshtein distance between `a` and `b`, case-insensitive (case slips are the common typo). */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const cur = [i];
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    prev = cur;
  }
  return prev[t.length]!;
}

/**
 * The candidate closest to `input`, or null when nothing is close enough to be a plausible
 * typo (more than a third of the input's length away), so hints never suggest nonsense.
 */
export function closestMatch(input: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const d = editDistance(input, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const tolerance = Math.max(2, Math.ceil(input.length / 3));
  return bestDistance <= tolerance ? best : null;
}

/** ` Did you mean 'X'?` or '' — ready to append to a message. */
export function didYouMean(input: string, candidates: readonly string[]): string {
  const match = closestMatch(input, candidates);
  return match !== null && match !== input ? ` Did you mean '${match}'?` : '';
}
