"""Constructive delivery orders for large manifests: plane by plane, by altitude.

A beam search over a large manifest keeps a few thousand partial plans per layer, ranked by
optimistic bounds; on a rideshare over a few orbital planes it can keep none that closes on a
tight load, although the plan an engineer would write by hand does: deliver the drop-off
plane's payloads, drift to the next plane, deliver its payloads, and so on, each plane's
payloads in order of altitude. :func:`sweep_orders` writes such orders (the planes swept
eastwards and westwards of the drop-off, each plane's altitudes climbing or descending, or
alternating between planes); :func:`otvplan.planning.schedule.optimise` searches each one over
every tabulated drift duration (:func:`otvplan.planning.table_search.search_tables` with a
``sequence``) and starts its beam rounds from the best, so the heuristic's plan is never worse
than the best of these hand-written plans in the same leg model.

A *plane* is a set of targets whose node is at the same RAAN at the epoch (1e-6 rad); the
manifests planned this way turn at one nodal rate, so a plane stays one. Targets with a free
RAAN join the drop-off's plane. Core units: km, s, rad.
"""

from __future__ import annotations

import numpy as np

from otvplan.core.orbits import TWO_PI
from otvplan.planning import legs as lg

#: RAANs closer than this [rad] are one plane.
PLANE_TOL_RAD = 1e-6


def planes(nodes: lg.Nodes) -> list[np.ndarray]:
    """The targets (node indices 1..n) grouped by plane: the drop-off's plane first (with the
    free-RAAN targets; possibly empty), then the others by their RAAN east of the drop-off's,
    in (0, 2 pi)."""
    raan_drop = float(nodes.raan0[0])
    offset = np.mod(nodes.raan0[1:] - raan_drop, TWO_PI)
    offset = np.where(np.isnan(offset), 0.0, offset)
    at_drop = np.minimum(offset, TWO_PI - offset) <= PLANE_TOL_RAD
    targets = np.arange(1, nodes.n)
    key = np.round(offset / PLANE_TOL_RAD)
    groups = [targets[at_drop]]
    for value in np.unique(key[~at_drop]):  # sorted: eastwards from the drop-off
        groups.append(targets[~at_drop & (key == value)])
    return groups


def sweep_orders(nodes: lg.Nodes) -> list[np.ndarray]:
    """Delivery orders plane by plane: the drop-off's plane first, then the other planes
    eastwards or westwards; within each plane by altitude, climbing, descending, or
    alternating from plane to plane (starting either way). Duplicates removed."""
    first, *rest = planes(nodes)
    seen: set[tuple[int, ...]] = set()
    out = []
    for sequence in ([first, *rest], [first, *rest[::-1]]):
        if sequence[0].size == 0:
            sequence = sequence[1:]
        for rule in ("up", "down", "up-down", "down-up"):
            parts = []
            for p, g in enumerate(sequence):
                climb = {"up": True, "down": False, "up-down": p % 2 == 0}.get(rule, p % 2 == 1)
                by_alt = g[np.argsort(nodes.a[g], kind="stable")]
                parts.append(by_alt if climb else by_alt[::-1])
            order = np.concatenate(parts) if parts else np.zeros(0, int)
            key = tuple(int(k) for k in order)
            if key not in seen:
                seen.add(key)
                out.append(order)
    return out
