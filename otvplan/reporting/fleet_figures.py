"""Figures of a :class:`~otvplan.model.FleetPlan` (several tugs on one launch).

Each function takes a FleetPlan and returns a :class:`matplotlib.figure.Figure` built with the
object API on an Agg canvas (no pyplot), in the house style of
:mod:`otvplan.reporting.figstyle`; save it with :func:`otvplan.reporting.plotting.figure_bytes`
or :func:`~otvplan.reporting.plotting.save_figure` (reproducible bytes). matplotlib is imported
inside the functions.

- :func:`timeline`: a Gantt chart with one row per tug flown, its legs as bars coloured by
  strategy (times from the fleet scenario's epoch, so a tug that starts later starts later on
  the chart), the time before it starts as a thin grey bar, releases as triangles labelled by
  payload.
- :func:`assignment`: which payload flies on which tug. Each target is a point of node
  (LTAN when every target with a node is given by LTAN, RAAN otherwise) against mean altitude,
  coloured by the tug that carries it; each tug's drop-off is a star of its colour; a target
  whose node is free is a dashed line at its altitude; a payload no tug carries is a grey
  cross. When no target has a node to reach (GTO to GEO, say) the map is inclination against
  altitude instead.
"""

from __future__ import annotations

import math

from otvplan.constants import R_EARTH_KM, SECONDS_PER_DAY
from otvplan.reporting.figstyle import (
    PHASE_COLORS,
    _days_label,
    _figure,
    _freeze_layout,
    _payload_colors,
    _place_labels,
    _rc,
    _release_groups,
    _texts_out_of_layout,
    _title,
)

#: Colour of each leg strategy in the fleet timeline (the phase colours of the single-tug
#: timeline where a strategy is mostly one kind of phase); others get :data:`_OTHER_COLORS`.
STRATEGY_COLORS = {
    "direct": PHASE_COLORS["transfer"],
    "drift": PHASE_COLORS["drift"],
    "phasing": PHASE_COLORS["phasing"],
    "spiral": PHASE_COLORS["spiral"],
    "spiral-drift": "#8cd17d",
    "disposal": "#555555",
}

#: Colours of strategies not in :data:`STRATEGY_COLORS`, in order of first appearance.
_OTHER_COLORS = ("#e15759", "#76b7b2", "#ff9da7", "#9c755f", "#bab0ac", "#b07aa1")

#: Colour of the time a tug waits on the ground / in its drop-off before it starts.
_WAITING_COLOR = "#dddddd"

#: Marker colour of a payload no tug carries.
_UNASSIGNED_COLOR = "#8a8a8a"

_TUG_CMAP = "tab10"


def tug_colors(fleet) -> dict:
    """A fixed colour per tug of the fleet, in the scenario's order (flown or not), so a tug
    has the same colour in every fleet figure."""
    import matplotlib

    names = _fleet_tug_names(fleet)
    cmap = matplotlib.colormaps["Dark2" if len(names) <= 8 else "tab20"]
    return {name: cmap(k % cmap.N) for k, name in enumerate(names)}


def _fleet_tug_names(fleet) -> list[str]:
    names = []
    if fleet.scenario.fleet is not None:
        names = [ft.tug.name for ft in fleet.scenario.fleet.tugs]
    for t in fleet.tugs:  # a tug plan not in the scenario's fleet still gets a colour
        if t.tug not in names:
            names.append(t.tug)
    return names


def strategy_colors(fleet) -> dict:
    """Colour of every strategy the fleet's legs use."""
    out: dict = {}
    k = 0
    for t in fleet.tugs:
        for leg in t.plan.legs:
            s = leg.strategy
            if s in out:
                continue
            if s in STRATEGY_COLORS:
                out[s] = STRATEGY_COLORS[s]
            else:
                out[s] = _OTHER_COLORS[k % len(_OTHER_COLORS)]
                k += 1
    return out


# --------------------------------------------------------------------------------------------
# Timeline
# --------------------------------------------------------------------------------------------


def timeline(fleet):
    """Gantt chart of the fleet: one row per tug flown, its legs as bars coloured by strategy,
    releases as triangles labelled by payload; days from the fleet scenario's epoch."""
    with _rc():
        return _freeze_layout(_timeline(fleet))


def _timeline(fleet):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    tugs = list(fleet.tugs)
    fig = _figure(10.0, 2.2 + 0.7 * max(len(tugs), 1))
    ax = fig.add_subplot()
    end_d = max(fleet.makespan_s / SECONDS_PER_DAY, 1e-3)
    min_w = end_d * 0.004  # legs shorter than this are drawn at this width to stay visible
    s_colors = strategy_colors(fleet)
    p_colors = _payload_colors(fleet)
    labels = []
    waits = False
    for row, t in enumerate(tugs):
        releases: list[tuple[float, str, int]] = []
        t0 = t.start_s / SECONDS_PER_DAY
        if t0 > 0.0:
            waits = True
            ax.broken_barh(
                [(0.0, t0)], (row - 0.08, 0.16), facecolors=_WAITING_COLOR, edgecolor="none"
            )
        for leg in t.plan.legs:
            start = t0 + leg.t_start_s / SECONDS_PER_DAY
            width = max(leg.duration_s / SECONDS_PER_DAY, min_w)
            ax.broken_barh(
                [(start, width)],
                (row - 0.3, 0.6),
                facecolors=s_colors.get(leg.strategy, "#999999"),
                edgecolor="white",
                linewidth=0.6,
            )
            d = leg.delivery
            if d is not None:
                td = t0 + d.t_s / SECONDS_PER_DAY
                ax.plot(
                    [td],
                    [row - 0.42],
                    marker="v",
                    color=p_colors.get(d.payload, "black"),
                    markersize=8,
                    markeredgecolor="black",
                    mew=0.5,
                )
                releases.append((td * SECONDS_PER_DAY, d.payload, row))
        # one label per group of releases the figure cannot tell apart (stacked names)
        for group in _release_groups(releases, max(fleet.makespan_s, 1.0)):
            td = sum(t_s for t_s, _, _ in group) / len(group) / SECONDS_PER_DAY
            text = "\n".join(name for _, name, _ in group)
            labels.append(
                (
                    text,
                    [
                        ((td, row - 0.42), (0, 7), "center", "bottom"),
                        ((td, row - 0.42), (-5, 5), "right", "bottom"),
                        ((td, row - 0.42), (5, 5), "left", "bottom"),
                        ((td, row + 0.32), (0, -3), "center", "top"),
                        ((td, row + 0.32), (-5, -3), "right", "top"),
                    ],
                )
            )
    ax.set_yticks(
        range(len(tugs)),
        [
            f"{t.tug}\n{len(t.plan.delivered)} payloads, {t.plan.propellant_used_kg:.1f} kg"
            for t in tugs
        ],
        linespacing=1.3,
    )
    ax.set_ylim(max(len(tugs), 1) - 0.4, -1.0)
    ax.set_xlim(-0.01 * end_d, end_d * 1.04)
    ax.set_ylabel("Tug")
    ax.grid(axis="y", visible=False)
    if not tugs:
        ax.text(0.5, 0.5, "no tug flies", transform=ax.transAxes, ha="center", va="center")
    handles = [Patch(facecolor=c, label=s) for s, c in s_colors.items()]
    if waits:
        handles.append(Patch(facecolor=_WAITING_COLOR, label="before the tug starts"))
    handles.append(
        Line2D(
            [],
            [],
            marker="v",
            ls="none",
            color="#777777",
            markeredgecolor="black",
            label="payload release",
        )
    )
    fig.legend(
        handles=handles, loc="outside lower center", ncol=min(len(handles), 7), frameon=False
    )
    ax.set_title(_title(fleet, f"fleet timeline, {len(tugs)} tugs, makespan {end_d:.1f} d"))
    ax.set_xlabel(
        _days_label(fleet) + f"\nlegs shorter than {min_w:.2f} d are drawn at that width",
        linespacing=1.6,
    )
    if labels:
        _place_labels(fig, ax, labels)
    _texts_out_of_layout(fig)
    return fig


# --------------------------------------------------------------------------------------------
# Assignment map
# --------------------------------------------------------------------------------------------


def _node_mode(fleet) -> str:
    """``"ltan"``, ``"raan"`` or ``"inclination"``: what the map's x axis shows."""
    noded = [
        p.target
        for p in fleet.scenario.payloads
        if p.target.raan_rad is not None and p.target.inc_rad >= math.radians(0.1)
    ]
    if not noded:
        return "inclination"
    if all(o.ltan_h is not None for o in noded):
        return "ltan"
    return "raan"


def _x_of(orbit, mode: str) -> float | None:
    """Where ``orbit`` (an OrbitSpec) sits on the map's x axis (None: its node is free)."""
    if mode == "inclination":
        return math.degrees(orbit.inc_rad)
    if orbit.raan_rad is None or orbit.inc_rad < math.radians(0.1):
        return None
    if mode == "ltan":
        if orbit.ltan_h is None:
            return None
        return float(orbit.ltan_h) % 24.0
    return math.degrees(orbit.raan_rad) % 360.0


def assignment(fleet):
    """Which payload flies on which tug: each target orbit as a point (node or inclination
    against mean altitude at the fleet epoch), coloured by the tug carrying it; each tug's
    drop-off as a star; free-node targets as dashed lines; payloads no tug carries as grey
    crosses."""
    with _rc():
        return _freeze_layout(_assignment(fleet))


def _assignment(fleet):
    from matplotlib.lines import Line2D

    sc = fleet.scenario
    mode = _node_mode(fleet)
    colors = tug_colors(fleet)
    carried = fleet.assignment
    fig = _figure(8.0, 5.4)
    ax = fig.add_subplot()
    labels = []
    dropoffs = []  # (tug name, OrbitSpec) of the tugs flown
    fleet_tugs = {ft.tug.name: ft for ft in (sc.fleet.tugs if sc.fleet is not None else ())}
    for t in fleet.tugs:
        ft = fleet_tugs.get(t.tug)
        d = ft.dropoff if ft is not None and ft.dropoff is not None else sc.dropoff
        dropoffs.append((t.tug, d))
    spots: dict = {}  # drop-offs at one place on the map share one star
    for name, d in dropoffs:
        x = _x_of(d, mode)
        if x is not None:
            spots.setdefault((round(x, 6), round(d.a_km - R_EARTH_KM, 6)), []).append(name)
    for (x, alt), names in spots.items():
        ax.plot(
            [x],
            [alt],
            marker="*",
            ms=13,
            ls="none",
            color=colors[names[0]] if len(names) == 1 else "#777777",
            markeredgecolor="black",
            mew=0.5,
            zorder=3,
        )
        labels.append(
            (
                "drop-off: " + ", ".join(names),
                [
                    ((x, alt), (0, -9), "center", "top"),
                    ((x, alt), (8, 0), "left", "center"),
                    ((x, alt), (-8, 0), "right", "center"),
                ],
            )
        )
    free = []
    for p in sc.payloads:
        tug = carried.get(p.name)
        color = colors.get(tug, _UNASSIGNED_COLOR) if tug else _UNASSIGNED_COLOR
        alt = p.target.a_km - R_EARTH_KM
        x = _x_of(p.target, mode)
        if x is None:
            free.append((p, alt, color, tug))
            continue
        if tug:
            ax.plot(
                [x],
                [alt],
                marker="o",
                ms=8,
                ls="none",
                color=color,
                markeredgecolor="black",
                mew=0.5,
                zorder=4,
            )
        else:
            ax.plot([x], [alt], marker="X", ms=9, ls="none", color=_UNASSIGNED_COLOR, zorder=4)
        text = p.name if tug else f"{p.name} (unassigned)"
        labels.append(
            (
                text,
                [
                    ((x, alt), (6, 4), "left", "bottom"),
                    ((x, alt), (-6, 4), "right", "bottom"),
                    ((x, alt), (6, -4), "left", "top"),
                    ((x, alt), (-6, -4), "right", "top"),
                ],
            )
        )
    for _p, alt, color, _tug in free:
        ax.axhline(alt, color=color, ls="--", lw=1.2, zorder=2)
    # the axis ranges must be known before the free-node labels are placed on their lines
    if mode == "ltan":
        ax.set_xlabel("LTAN at the fleet epoch (h)")
    elif mode == "raan":
        ax.set_xlabel("RAAN at the fleet epoch (deg)")
    else:
        ax.set_xlabel("Inclination (deg)")
    lo, hi = ax.get_xlim()
    if hi - lo < (1.0 if mode == "ltan" else 2.0):
        mid = 0.5 * (lo + hi)
        half = 0.5 if mode == "ltan" else 1.0
        ax.set_xlim(mid - half, mid + half)
        lo, hi = ax.get_xlim()
    for p, alt, _color, tug in free:
        text = f"{p.name} (any plane)" + ("" if tug else ", unassigned")
        labels.append(
            (
                text,
                [
                    ((lo, alt), (4, 3), "left", "bottom"),
                    ((hi, alt), (-4, 3), "right", "bottom"),
                    ((lo, alt), (4, -3), "left", "top"),
                ],
            )
        )
    ax.set_ylabel("Mean altitude a \u2212 R\u2295 (km)")
    ax.ticklabel_format(axis="y", useOffset=False, style="plain")
    handles = [
        Line2D(
            [], [], marker="o", ls="none", color=colors[name], markeredgecolor="black", label=name
        )
        for name in colors
        if any(t.tug == name for t in fleet.tugs)
    ]
    handles.append(
        Line2D(
            [],
            [],
            marker="*",
            ms=11,
            ls="none",
            color="#777777",
            markeredgecolor="black",
            label="drop-off (grey: shared)",
        )
    )
    if any(p.name not in carried for p in sc.payloads):
        handles.append(
            Line2D([], [], marker="X", ls="none", color=_UNASSIGNED_COLOR, label="unassigned")
        )
    if free:
        handles.append(Line2D([], [], ls="--", color="#777777", label="any plane"))
    fig.legend(handles=handles, loc="outside right upper", frameon=False)
    what = {"ltan": "LTAN", "raan": "RAAN", "inclination": "inclination"}[mode]
    ax.set_title(_title(fleet, f"payloads by tug ({what} against altitude)"))
    if labels:
        _place_labels(fig, ax, labels)
    _texts_out_of_layout(fig)
    return fig


#: The fleet figures by name (the file of ``name`` is ``fig_<name>.png`` / ``.svg``).
FIGURE_FUNCTIONS = {
    "fleet_timeline": timeline,
    "fleet_assignment": assignment,
}


def all_figures(fleet) -> dict:
    """Every fleet figure as ``{name: Figure}``."""
    return {name: func(fleet) for name, func in FIGURE_FUNCTIONS.items()}


__all__ = [
    "FIGURE_FUNCTIONS",
    "STRATEGY_COLORS",
    "all_figures",
    "assignment",
    "strategy_colors",
    "timeline",
    "tug_colors",
]
