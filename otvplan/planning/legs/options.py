"""Leg options as typed blocks: the seam between the leg strategies, the searches and the plan
builder.

Each strategy returns *base blocks* (:class:`BaseBlock`): for P (tug state, target) pairs at
once, one option per pair with its outcome (delta-v, arrival time, mass, RAAN, argument of
latitude) and a typed ``detail`` holding what the plan builder needs to turn it into burns
(:class:`DirectDetail`, :class:`DriftDetail`, :class:`SpiralDetail`,
:class:`SpiralDriftDetail`). Phasing for a slot turns a base block into *option blocks*
(:class:`OptionBlock`, with a :class:`PhasingDetail` where a phasing orbit is flown).
:class:`Options` flattens the valid rows of all option blocks into arrays for the searches and
keeps the blocks, so that an option found by a search is rebuilt from the very same numbers:
an option is named by its :class:`OptionId` (strategy, drift-duration index, phasing variant,
revolutions), which the search stores in its labels and the builder looks up with
:meth:`Options.find`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any, NamedTuple, TypeVar

import numpy as np

from otvplan.core.orbits import TWO_PI
from otvplan.planning.legs.transfer import Transfer

T = TypeVar("T")


class OptionId(NamedTuple):
    """What names a leg option, shared by the search (its labels store these fields) and the
    plan builder: the base strategy code (``DIRECT``, ``DRIFT``, ...), the index of the
    drift duration in the context's grid (-1 without a drift), the phasing variant code and
    the number of phasing revolutions."""

    base: int
    tidx: int
    variant: int
    krev: float


@dataclass(frozen=True)
class DirectDetail:
    """A ``direct`` leg: the transfer, and (phase-wait variant only) the wait [s] before it
    that brings the tug onto its slot."""

    transfer: Transfer
    wait_s: np.ndarray | None = None


@dataclass(frozen=True)
class DriftDetail:
    """A ``drift`` leg: transfer to the drift orbit (``first``), the coast there from
    ``t_d0`` to ``t_d1`` [s], transfer to the target (``second``). Drift orbit radius ``a_d``
    [km], inclination ``i_d`` and nodal rate ``rate_d`` [rad/s]; ``direction`` +1 when the
    drift orbit's node turns faster than the target's (closes the gap forwards), -1 slower."""

    first: Transfer
    second: Transfer
    a_d: np.ndarray
    i_d: np.ndarray
    t_d0: np.ndarray
    t_d1: np.ndarray
    rate_d: np.ndarray
    direction: np.ndarray


@dataclass(frozen=True)
class SpiralDetail:
    """A ``spiral`` leg (Edelbaum): delta-v [km/s], thrust time ``T`` [s], plane angle
    ``theta`` [rad] and the RAAN at arrival [rad]."""

    dv: np.ndarray
    T: np.ndarray
    theta: np.ndarray
    raan_end: np.ndarray


@dataclass(frozen=True)
class SpiralDriftDetail:
    """A ``spiral-drift`` leg: spiral to the drift orbit (``dv1`` in ``T1``), drift ``Td``,
    spiral to the target (``dv2`` in ``T2``); drift orbit ``a_d``, ``i_d``, and the RAAN and
    argument of latitude at the drift's start."""

    dv1: np.ndarray
    dv2: np.ndarray
    T1: np.ndarray
    Td: np.ndarray
    T2: np.ndarray
    a_d: np.ndarray
    i_d: np.ndarray
    raan_d: np.ndarray
    u_d: np.ndarray


Detail = DirectDetail | DriftDetail | SpiralDetail | SpiralDriftDetail


@dataclass(frozen=True)
class PhasingDetail:
    """A phasing orbit after the base leg: semi-major axis ``a_ph`` [km], eccentricity,
    inclination, its two burns' total ``dvp`` [km/s], the time on it ``tof`` [s], the wait
    before it [s], and the speeds on the phasing and target orbits at the burn point [km/s]."""

    a_ph: np.ndarray
    dvp: np.ndarray
    tof: np.ndarray
    v_ph: np.ndarray
    v_c: np.ndarray
    i_ph: np.ndarray
    wait: np.ndarray
    e_ph: np.ndarray


@dataclass(frozen=True)
class BaseBlock:
    """One base strategy evaluated for P pairs: ``code`` and ``tidx`` (see :class:`OptionId`),
    the outcome per pair (``dv`` [km/s], arrival time ``t_arr`` [s], RAAN and argument of
    latitude at arrival [rad], mass ``m_arr`` [kg]), ``valid`` where it can be flown, and
    ``dv_lb`` (drift only, when asked for) a lower bound on its delta-v."""

    code: int
    tidx: int
    detail: Detail
    dv: np.ndarray
    t_arr: np.ndarray
    raan_arr: np.ndarray
    u_arr: np.ndarray
    m_arr: np.ndarray
    valid: np.ndarray
    dv_lb: np.ndarray | None = None


@dataclass(frozen=True)
class OptionBlock:
    """A base block with its phasing variant: the option's outcome per pair and ``ok`` where
    it exists; ``phasing`` holds the phasing orbit of the phasing-orbit variants."""

    base: BaseBlock
    variant: int
    krev: float
    ok: np.ndarray
    dv: np.ndarray
    m_end: np.ndarray
    t_end: np.ndarray
    raan_end: np.ndarray
    u_end: np.ndarray
    phasing: PhasingDetail | None = None


@dataclass(frozen=True)
class Options:
    """Leg options for P (state, target) pairs, flattened: one row per valid option.

    ``pair`` indexes the input pairs; ``base``/``tidx``/``variant``/``krev`` are the option's
    :class:`OptionId`; ``dv`` [km/s], ``m_end`` [kg], ``t_end`` [s], ``raan_end`` and ``u_end``
    [rad] its outcome. ``blocks`` are the option blocks the rows come from and ``which`` the
    block of each row (see :meth:`block_of`).
    """

    pair: np.ndarray
    base: np.ndarray
    tidx: np.ndarray
    variant: np.ndarray
    krev: np.ndarray
    dv: np.ndarray
    m_end: np.ndarray
    t_end: np.ndarray
    raan_end: np.ndarray
    u_end: np.ndarray
    blocks: tuple[OptionBlock, ...]
    which: np.ndarray

    def block_of(self, row: int) -> OptionBlock:
        """The option block that row ``row`` comes from."""
        return self.blocks[int(self.which[row])]

    def find(self, option: OptionId) -> int:
        """The first row that is ``option`` (raises LookupError if there is none)."""
        sel = np.nonzero(
            (self.base == option.base)
            & (self.tidx == option.tidx)
            & (self.variant == option.variant)
            & (self.krev == option.krev)
        )[0]
        if sel.size == 0:
            raise LookupError(f"no leg option {option}")
        return int(sel[0])


def at(obj: T, p: int) -> T:
    """Pair ``p`` of a struct of arrays (a dataclass of arrays, nested): the same type with
    floats (bools) in place of its arrays; scalars and None pass through."""
    changes: dict[str, Any] = {}
    for f in fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, f.name)
        if is_dataclass(value):
            changes[f.name] = at(value, p)
        elif isinstance(value, np.ndarray):
            item = value[p] if value.ndim else value
            changes[f.name] = item.item()
    return replace(obj, **changes)  # type: ignore[type-var]


def scatter(obj: T, sel: np.ndarray, rows: np.ndarray, P: int) -> T:
    """Rows ``sel`` of every array of a struct of arrays, placed at ``rows`` of length-P arrays
    (zero / False elsewhere): the per-duration view of a flattened block."""
    changes: dict[str, Any] = {}
    for f in fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, f.name)
        if is_dataclass(value):
            changes[f.name] = scatter(value, sel, rows, P)
        else:
            arr = np.asarray(value)
            fill = False if arr.dtype == bool else 0.0
            changes[f.name] = scatter_1d(arr, sel, rows, P, fill)
    return replace(obj, **changes)  # type: ignore[type-var]


def scatter_1d(values, sel, rows, P: int, fill) -> np.ndarray:
    """``values[sel]`` placed at ``rows`` of a length-P array filled with ``fill``."""
    values = np.asarray(values)
    out = np.full(P, fill, dtype=values.dtype if values.dtype != bool else bool)
    out[rows] = values[sel]
    return out


def concat(blocks: list[OptionBlock], P: int) -> Options:
    """The valid rows of ``blocks`` (``ok`` and finite) as one :class:`Options`."""
    parts: dict[str, list[np.ndarray]] = {
        name: []
        for name in (
            "pair",
            "base",
            "tidx",
            "variant",
            "krev",
            "dv",
            "m_end",
            "t_end",
            "raan_end",
            "u_end",
            "which",
        )
    }
    for r_i, b in enumerate(blocks):
        ok = np.asarray(b.ok, bool) & np.isfinite(b.dv) & np.isfinite(b.t_end)
        idx = np.nonzero(ok)[0]
        if idx.size == 0:
            continue
        parts["pair"].append(idx)
        parts["base"].append(np.full(idx.size, b.base.code))
        parts["tidx"].append(np.full(idx.size, b.base.tidx))
        parts["variant"].append(np.full(idx.size, b.variant))
        parts["krev"].append(np.full(idx.size, b.krev, float))
        parts["dv"].append(np.asarray(b.dv, float)[idx])
        parts["m_end"].append(np.asarray(b.m_end, float)[idx])
        parts["t_end"].append(np.asarray(b.t_end, float)[idx])
        parts["raan_end"].append(np.broadcast_to(np.asarray(b.raan_end, float), (P,))[idx])
        parts["u_end"].append(np.broadcast_to(np.asarray(b.u_end, float), (P,))[idx])
        parts["which"].append(np.full(idx.size, r_i))
    if not parts["pair"]:
        e = np.zeros(0)
        ei = np.zeros(0, int)
        return Options(ei, ei, ei, ei, e, e, e, e, e, e, tuple(blocks), ei)
    cat = {name: np.concatenate(arrays) for name, arrays in parts.items()}
    return Options(
        cat["pair"],
        cat["base"],
        cat["tidx"],
        cat["variant"],
        cat["krev"],
        cat["dv"],
        cat["m_end"],
        cat["t_end"],
        np.mod(cat["raan_end"], TWO_PI),
        np.mod(cat["u_end"], TWO_PI),
        tuple(blocks),
        cat["which"],
    )


def prune(o: Options) -> Options:
    """Keep, per pair, the options not dominated in (higher end mass, earlier delivery)."""
    order = np.lexsort((-o.m_end, o.t_end, o.pair))
    pair = o.pair[order]
    m = o.m_end[order]
    # running max of m within each pair group, over increasing t
    start = np.r_[True, pair[1:] != pair[:-1]]
    grp = np.cumsum(start) - 1
    offset = grp * 1e9
    run = np.maximum.accumulate(m + offset) - offset
    prev = np.r_[-np.inf, run[:-1]]
    prev[start] = -np.inf
    keep = order[m > prev + 1e-9]
    keep = np.sort(keep)
    return take(o, keep)


def take(o: Options, idx) -> Options:
    """Rows ``idx`` of ``o`` (the blocks are shared)."""
    return Options(
        o.pair[idx],
        o.base[idx],
        o.tidx[idx],
        o.variant[idx],
        o.krev[idx],
        o.dv[idx],
        o.m_end[idx],
        o.t_end[idx],
        o.raan_end[idx],
        o.u_end[idx],
        o.blocks,
        o.which[idx],
    )
