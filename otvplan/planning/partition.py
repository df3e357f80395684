"""The partition programme: disjoint subsets of n payloads for m tugs at least total cost.

Tug k may carry the subsets in its list, each at a cost (or none: the tug stays on the
ground at no cost); a payload goes on one tug at most. Over the sets T of payloads served,

    best_k(T) = min( best_(k-1)(T),  min over S in tug k's list, S in T of
                     best_(k-1)(T minus S) + cost_k(S) ),

with best_0 = 0 at the empty set and infinite elsewhere: a dynamic programme over the 2^n
sets, 3^n (set, subset) steps per tug at most (Bertsekas, *Dynamic Programming and Optimal
Control*, vol. I, the assignment of items to bins by subsets). The steps depend on the lists
only, so they are built once (:class:`PartitionProgramme`) and the programme solved again
for new costs in a few whole-array operations - what the fleet's lazily planned exact method
needs, which solves it after every round of plans. Costs are in whatever unit the caller
adds up (kg of propellant here).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class _Steps:
    """One tug's steps, grouped by the set served after them: step s serves ``to[s]`` by
    adding subset number ``sub[s]`` (its position in the tug's list) to ``to[s] ^ mask``;
    the steps into set ``served[g]`` are ``start[g]`` up to the next group's start."""

    to: np.ndarray
    sub: np.ndarray
    frm: np.ndarray
    served: np.ndarray
    start: np.ndarray


class PartitionProgramme:
    """The steps of the programme for ``n`` payloads and each tug's list of subsets (bit i:
    payload i; non-empty, distinct)."""

    def __init__(self, n: int, subsets: list[list[int]]):
        self.n = n
        self.size = 1 << n
        self.subsets = [np.asarray(s, np.int64) for s in subsets]
        index = np.arange(self.size, dtype=np.int64)
        self._steps = []
        for masks in self.subsets:
            to_parts, sub_parts = [], []
            for pos, mask in enumerate(masks.tolist()):
                free = index[(index & mask) == 0]  # (free | mask is one-to-one on them)
                to_parts.append(free | mask)
                sub_parts.append(np.full(free.size, pos, np.int64))
            to = np.concatenate(to_parts) if to_parts else np.zeros(0, np.int64)
            sub = np.concatenate(sub_parts) if sub_parts else np.zeros(0, np.int64)
            order = np.argsort(to, kind="stable")
            to, sub = to[order], sub[order]
            served, start = np.unique(to, return_index=True)
            self._steps.append(_Steps(to, sub, to ^ masks[sub], served, start))

    @property
    def steps(self) -> int:
        """Steps per solve (the work of :meth:`solve`)."""
        return sum(s.to.size for s in self._steps)

    def solve(self, costs: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        """``best`` (per set served, the least total cost; inf where no assignment serves
        exactly that set) and, per tug, the position in its list of the subset it carries
        in that assignment (-1: on the ground), for ``costs`` (per tug, one per subset of
        its list; inf: the tug cannot carry it)."""
        best = np.full(self.size, np.inf)
        best[0] = 0.0
        choices = []
        for steps, cost in zip(self._steps, costs):
            nxt = best.copy()
            choice = np.full(self.size, -1, np.int64)
            if steps.to.size:
                cand = best[steps.frm] + np.asarray(cost, float)[steps.sub]
                group_min = np.minimum.reduceat(cand, steps.start)
                # the first step reaching its group's least total (ties: the list's order)
                at_min = np.where(
                    cand == np.repeat(group_min, np.diff(np.append(steps.start, cand.size))),
                    np.arange(cand.size),
                    cand.size,
                )
                first = np.minimum.reduceat(at_min, steps.start)
                better = group_min < nxt[steps.served]
                nxt[steps.served[better]] = group_min[better]
                choice[steps.served[better]] = steps.sub[first[better]]
            best = nxt
            choices.append(choice)
        return best, choices

    def masks(self, choices: list[np.ndarray], served: int) -> list[int]:
        """The subset (bit mask; 0 on the ground) each tug carries in :meth:`solve`'s best
        assignment serving exactly ``served``."""
        out = [0] * len(choices)
        left = served
        for k in range(len(choices) - 1, -1, -1):
            pos = int(choices[k][left])
            if pos >= 0:
                out[k] = int(self.subsets[k][pos])
                left &= ~out[k]
        if left:
            raise ValueError("that set is served by no assignment of these choices")
        return out
