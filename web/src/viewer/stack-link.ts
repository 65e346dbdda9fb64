/**
 * Linked scrolling of two stacks of the same orientation: the second follows the first to the slice
 * nearest the same position, keeping the offset the user had when linking (a prior is usually in
 * another frame of reference, so equal coordinates need not mean the same anatomy). Pure, unit-tested.
 */

/** Index of the position nearest `target` (the first one on a tie); -1 when there is none. */
export function nearestIndex(positions: readonly (number | undefined)[], target: number): number {
  let best = -1;
  let bestDistance = Number.POSITIVE_INFINITY;
  positions.forEach((p, i) => {
    if (p === undefined) return;
    const distance = Math.abs(p - target);
    if (distance < bestDistance) {
      best = i;
      bestDistance = distance;
    }
  });
  return best;
}

export interface StackLink {
  /** Position of the follower minus position of the leader when the link was made (mm). */
  offset: number;
}

/** Links two stacks at their current images. */
export function makeLink(
  leader: readonly (number | undefined)[],
  leaderIndex: number,
  follower: readonly (number | undefined)[],
  followerIndex: number,
): StackLink | null {
  const a = leader[leaderIndex];
  const b = follower[followerIndex];
  if (a === undefined || b === undefined) return null;
  return { offset: b - a };
}

/** Where the follower goes when the leader shows `leaderIndex` (either stack may lead; `direction` -1 swaps). */
export function followIndex(
  link: StackLink,
  from: readonly (number | undefined)[],
  fromIndex: number,
  to: readonly (number | undefined)[],
  direction: 1 | -1,
): number {
  const position = from[fromIndex];
  if (position === undefined) return -1;
  return nearestIndex(to, position + direction * link.offset);
}
