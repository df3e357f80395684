"""The partition programme (:mod:`otvplan.planning.partition`) against brute force: every
assignment of a few payloads to a few tugs (or to none) enumerated, with random costs and
random lists of the subsets each tug may carry."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from otvplan.planning.partition import PartitionProgramme


@pytest.mark.parametrize("seed", range(6))
def test_the_programme_equals_every_assignment_enumerated(seed):
    rng = np.random.default_rng(seed)
    n, m = 5, 3
    every = list(range(1, 1 << n))
    lists = [
        sorted(rng.choice(every, size=rng.integers(4, 25), replace=False).tolist())
        for _ in range(m)
    ]
    costs = [rng.uniform(0.0, 10.0, len(s)) for s in lists]
    costs[1][rng.integers(len(lists[1]))] = np.inf  # a subset a tug cannot carry
    programme = PartitionProgramme(n, lists)
    best, choices = programme.solve(costs)
    reference = np.full(1 << n, np.inf)
    for owners in itertools.product(range(m + 1), repeat=n):  # m: the payload is left out
        total, served = 0.0, 0
        for k in range(m):
            mask = sum(1 << i for i in range(n) if owners[i] == k)
            if mask == 0:
                continue
            if mask not in lists[k]:
                total = np.inf
                break
            total += costs[k][lists[k].index(mask)]
            served |= mask
        reference[served] = min(reference[served], total)
    np.testing.assert_allclose(best, reference, rtol=1e-12)
    for served in np.flatnonzero(np.isfinite(best)):
        masks = programme.masks(choices, int(served))
        union = 0
        total = 0.0
        for k, mask in enumerate(masks):
            assert union & mask == 0  # disjoint
            union |= mask
            if mask:
                total += costs[k][lists[k].index(mask)]
        assert union == served
        assert total == pytest.approx(best[served], rel=1e-12)
