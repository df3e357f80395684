"""Figures of a :class:`~otvplan.model.Plan` (matplotlib, imported only when a function runs).

Each function takes a Plan and returns a :class:`matplotlib.figure.Figure` built with the
object API (no pyplot, no global figure state, Agg canvas), so notebooks can show or restyle
it and scripts can save it::

    from otvplan.reporting import plotting
    fig = plotting.timeline(plan)
    plotting.save_figure(fig, "timeline.svg")     # deterministic bytes, written atomically

Figures: :func:`timeline` (Gantt of legs and phases), :func:`elements` (altitude, inclination,
RAAN relative to each target plane), :func:`mass` (tug mass and propellant), :func:`dv_waterfall`
(delta-v per leg against what the propellant allows), :func:`planes` (the node of the tug
and of every target relative to the drop-off plane against altitude: where the planes are and
how the tug moves between them) and :func:`pareto` (propellant-duration front of a
``pareto`` plan).

Time axes are days since the scenario epoch (UTC, given in the axis label). Elements are the
planned mean elements sampled by :mod:`otvplan.flight.trajectory`.

Saved files are reproducible: :func:`figure_bytes` writes no dates, a fixed SVG hash salt, and
fixed software metadata, so the same plan gives the same PNG and SVG bytes on the same
matplotlib version.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from otvplan.constants import R_EARTH_KM, SECONDS_PER_DAY
from otvplan.flight import trajectory as tr
from otvplan.io.atomicio import write_bytes
from otvplan.reporting.figstyle import (
    _LABEL_BOX,
    PHASE_COLORS,
    RC,
    _days_label,
    _figure,
    _freeze_layout,
    _leg_label,
    _payload_colors,
    _place_labels,
    _rc,
    _readable_span,
    _release_groups,
    _texts_out_of_layout,
    _title,
)

# --------------------------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------------------------


def figure_bytes(fig, fmt: str = "png") -> bytes:
    """The figure rendered as PNG or SVG bytes, reproducibly (no dates, fixed hash salt)."""
    import io

    fmt = fmt.lower()
    if fmt not in ("png", "svg"):
        raise ValueError(f"format must be 'png' or 'svg', got {fmt!r}")
    metadata = {"Software": "otvplan"} if fmt == "png" else {"Date": None, "Creator": "otvplan"}
    buf = io.BytesIO()
    with _rc():
        fig.savefig(buf, format=fmt, metadata=metadata)
    return buf.getvalue()


def save_figure(fig, path: str | os.PathLike, fmt: str | None = None) -> Path:
    """Save ``fig`` atomically to ``path`` (format from the suffix unless ``fmt``)."""
    path = Path(path)
    return write_bytes(path, figure_bytes(fig, fmt or path.suffix.lstrip(".") or "png"))


# --------------------------------------------------------------------------------------------
# 1. Timeline
# --------------------------------------------------------------------------------------------


def timeline(plan):
    """Gantt chart: one row per leg, bars for its phases (wait, transfer, drift, phasing,
    spiral, separation), ticks at burns, triangles at payload releases."""
    with _rc():
        return _freeze_layout(_timeline(plan))


def _timeline(plan):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    legs = list(plan.legs)
    fig = _figure(10.0, 1.8 + 0.5 * max(len(legs), 1))
    ax = fig.add_subplot()
    end_d = tr.mission_end_s(plan) / SECONDS_PER_DAY
    min_w = end_d * 0.004  # phases shorter than this are drawn at this width to stay visible
    colors = _payload_colors(plan)
    kinds_used = []
    for row, leg in enumerate(legs):
        for ph in leg.phases:
            start = ph.t_start_s / SECONDS_PER_DAY
            width = max((ph.t_end_s - ph.t_start_s) / SECONDS_PER_DAY, min_w)
            color = PHASE_COLORS.get(ph.kind, "#999999")
            ax.broken_barh([(start, width)], (row - 0.3, 0.6), facecolors=color,
                           edgecolor="none")
            if ph.kind not in kinds_used:
                kinds_used.append(ph.kind)
        for b in leg.burns:
            t0 = b.t_s / SECONDS_PER_DAY
            if tr.is_arc(b):
                t1 = b.orbit_after.t_s / SECONDS_PER_DAY
                ax.plot([t0, t1], [row + 0.36, row + 0.36], color="black", lw=2.0,
                        solid_capstyle="butt")
            ax.plot([t0], [row], marker="|", color="black", markersize=13, mew=1.4)
        d = leg.delivery
        if d is not None:
            td = d.t_s / SECONDS_PER_DAY
            ax.plot([td], [row - 0.45], marker="v", color=colors.get(d.payload, "black"),
                    markersize=8, markeredgecolor="black", mew=0.5)
            late = td > 0.75 * end_d  # label on the left near the right edge
            ax.annotate(d.payload, (td, row - 0.45), xytext=(-6 if late else 4, 0),
                        textcoords="offset points", fontsize=7.5, va="center",
                        ha="right" if late else "left", clip_on=False, in_layout=False)
    ax.set_yticks(range(len(legs)), [
        f"{_leg_label(leg)}\n{_duration_text(leg.t_end_s - leg.t_start_s)}, "
        f"{leg.dv_kms * 1000.0:.1f} m/s" for leg in legs], linespacing=1.3)
    ax.set_ylim(len(legs) - 0.4, -0.9)
    ax.set_xlim(-0.01 * end_d, end_d * 1.08)
    ax.set_ylabel("Leg")
    ax.grid(axis="y", visible=False)
    handles = [Patch(facecolor=PHASE_COLORS.get(k, "#999999"), label=k) for k in kinds_used]
    handles.append(Line2D([], [], marker="|", ls="none", color="black", markersize=10, mew=1.4,
                          label="burn (start)"))
    if any(tr.is_arc(b) for leg in legs for b in leg.burns):
        handles.append(Line2D([], [], color="black", lw=2.0, label="thrust arc"))
    handles.append(Line2D([], [], marker="v", ls="none", color="#777777", markeredgecolor="black",
                          label="payload release"))
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 7),
               frameon=False)
    ax.set_title(_title(plan, f"timeline, {end_d:.1f} d (each leg: duration, delta-v)"))
    ax.set_xlabel(_days_label(plan) + f"\nphases shorter than "
                  f"{_duration_text(min_w * SECONDS_PER_DAY)} are drawn at that width",
                  linespacing=1.6)
    return fig


def _duration_text(seconds: float) -> str:
    """A duration in the unit that reads best: s, min, h or d."""
    s = abs(float(seconds))
    if s < 120.0:
        return f"{seconds:.0f} s"
    if s < 2.0 * 3600.0:
        return f"{seconds / 60.0:.0f} min"
    if s < 2.0 * SECONDS_PER_DAY:
        return f"{seconds / 3600.0:.1f} h"
    return f"{seconds / SECONDS_PER_DAY:.1f} d"


# --------------------------------------------------------------------------------------------
# 2. Elements versus time
# --------------------------------------------------------------------------------------------


def _break_wraps(y, limit=180.0):
    """Insert NaN where a wrapped angle jumps by more than ``limit`` so lines do not streak."""
    y = np.asarray(y, float).copy()
    jumps = np.abs(np.diff(y)) > limit
    y[1:][jumps] = np.nan
    return y


def elements(plan, n: int = 3000):
    """Mean altitude (a - R_E), inclination and RAAN of the tug relative to each target plane
    versus time; releases marked. With sun-synchronous targets the RAAN panel also reads in
    hours of LTAN (1 h = 15 deg)."""
    with _rc():
        return _freeze_layout(_elements(plan, n))


def _elements(plan, n):
    from matplotlib.lines import Line2D

    s = tr.sample(plan, n=n)
    days = s.t / SECONDS_PER_DAY
    colors = _payload_colors(plan)
    fig = _figure(10.0, 8.2)
    ax_alt, ax_inc, ax_raan = fig.subplots(3, 1, sharex=True)
    ax_alt.plot(days, s.a - R_EARTH_KM, color="black", lw=1.2, label="tug (mean a - R_E)")
    ax_inc.plot(days, np.degrees(s.i), color="black", lw=1.2, label="tug")
    releases = [(leg.delivery, leg) for leg in plan.legs if leg.delivery is not None]
    for d, _leg in releases:
        td = d.t_s / SECONDS_PER_DAY
        c = colors.get(d.payload, "black")
        ax_alt.plot([td], [d.orbit.a_km - R_EARTH_KM], marker="v", color=c, markersize=8,
                    markeredgecolor="black", mew=0.5, ls="none")
        ax_inc.plot([td], [math.degrees(d.orbit.inc_rad)], marker="v", color=c, markersize=8,
                    markeredgecolor="black", mew=0.5, ls="none")
    if any(ph.kind == "drift" for leg in plan.legs for ph in leg.phases):
        lo = plan.scenario.constraints.min_drift_altitude_km
        ax_alt.axhline(lo, color="#c0392b", ls="--", lw=0.9)
        ax_alt.annotate(f"min drift altitude {lo:.0f} km", (0.0, lo), xytext=(2, 3),
                        textcoords="offset points", fontsize=7, color="#c0392b")
    ax_alt.margins(y=0.18)
    _readable_span(ax_alt, 10.0)
    _readable_span(ax_inc, 0.1)
    span_s = max(tr.mission_end_s(plan), 1.0)
    labels = []
    for group in _release_groups([(d.t_s, d.payload, d.orbit.a_km - R_EARTH_KM)
                                  for d, _ in releases], span_s):
        # One stacked label per group of close releases, on a light box, beside the markers
        # (to the left near the right edge) and preferably under the lowest of them: after a
        # release the tug's line runs level at that altitude or leaves it, so the space under
        # the markers is free. Otherwise over the highest, or on the other side.
        late = group[0][0] > 0.75 * span_s
        ys = [y for _, _, y in group]
        t_first, t_last = group[0][0] / SECONDS_PER_DAY, group[-1][0] / SECONDS_PER_DAY
        text = "\n".join(name for _, name, _ in sorted(group, key=lambda g: -g[2]))
        sides = [(t_first, -7, "right"), (t_last, 7, "left")]
        if not late:
            sides.reverse()
        candidates = []
        for t_edge, dx, ha in sides:
            candidates.append(((t_edge, min(ys)), (dx, -7), ha, "top"))
            candidates.append(((t_edge, max(ys)), (dx, 7), ha, "bottom"))
        labels.append((text, candidates))
    ax_alt.set_ylabel("Mean altitude a - R_E (km)")
    ax_inc.set_ylabel("Inclination (deg)")
    ax_alt.set_title(_title(plan, "mean elements of the tug"))
    # RAAN relative to each target plane
    payloads = {p.name: p for p in plan.scenario.payloads}
    handles = []
    any_sso = False
    drawn = 0
    for names, spec in _planes(plan):
        target = tr.target_at(spec, s.t).raan_rad
        rel = np.degrees(tr.wrap_pi(s.raan - target))
        c = colors[names[0]]
        ax_raan.plot(days, _break_wraps(rel), color=c, lw=1.1)
        label = ", ".join(names)
        if spec.ltan_h is not None:
            label += f" (LTAN {int(spec.ltan_h):02d}:{round(spec.ltan_h % 1 * 60):02d})"
        handles.append(Line2D([], [], color=c, label=label))
        any_sso = any_sso or spec.sso or spec.ltan_h is not None
        drawn += 1
    for d, _leg in releases:
        spec = payloads[d.payload].target if d.payload in payloads else None
        if spec is None or spec.raan_rad is None or spec.inc_rad < math.radians(0.1):
            continue
        tgt = tr.target_at(spec, d.t_s).raan_rad
        rel = math.degrees(float(tr.wrap_pi(d.orbit.raan_rad - tgt)))
        ax_raan.plot([d.t_s / SECONDS_PER_DAY], [rel], marker="v", ls="none",
                     color=colors.get(d.payload, "black"), markersize=8, markeredgecolor="black",
                     mew=0.5)
    ax_raan.axhline(0.0, color="black", lw=0.6)
    if drawn == 0:
        ax_raan.text(0.5, 0.5, "no target has a fixed node (RAAN free or equatorial)",
                     transform=ax_raan.transAxes, ha="center", va="center")
    ax_raan.set_ylabel("RAAN tug - target (deg)")
    if any_sso:
        sec = ax_raan.secondary_yaxis("right", functions=(lambda x: x / 15.0,
                                                          lambda x: x * 15.0))
        sec.set_ylabel("LTAN tug - target (h)")
    if handles:
        fig.legend(handles=handles, title="RAAN relative to the target plane of (\u25bc = release)",
                   loc="outside lower center", ncol=2 if len(handles) > 1 else 1, frameon=False)
    ax_raan.set_xlabel(_days_label(plan))
    _texts_out_of_layout(fig)
    _place_labels(fig, ax_alt, labels)
    _texts_out_of_layout(fig)
    return fig


def _planes(plan):
    """Targets with a fixed node grouped by plane history: [(payload names, a spec)], the
    targets of a group sharing the RAAN at the epoch and the node rate (to 1e-6 deg, 1e-9 deg/s);
    equatorial targets (i < 0.1 deg) are left out."""
    groups: dict = {}
    for p in plan.scenario.payloads:
        spec = p.target
        if spec.raan_rad is None or spec.inc_rad < math.radians(0.1):
            continue
        rate = float(tr.secular_rates(spec.a_km, spec.e, spec.inc_rad).raan)
        key = (round(math.degrees(spec.raan_rad) % 360.0, 6), round(math.degrees(rate), 9))
        groups.setdefault(key, ([], spec))[0].append(p.name)
    return [(names, spec) for names, spec in groups.values()]


# --------------------------------------------------------------------------------------------
# 3. Mass and propellant
# --------------------------------------------------------------------------------------------


def mass(plan):
    """Total tug mass (with payloads on board) and propellant on board versus time; steps at
    impulsive burns and releases, ramps over low-thrust arcs; the reserve marked."""
    with _rc():
        return _freeze_layout(_mass(plan))


def _mass(plan):
    h = tr.mass_history(plan)
    days = h.t / SECONDS_PER_DAY
    colors = _payload_colors(plan)
    fig = _figure(10.0, 6.4)
    ax_m, ax_p = fig.subplots(2, 1, sharex=True)
    ax_m.plot(days, h.mass_kg, color="black", lw=1.3)
    span = max(float(h.t[-1]), 1.0)
    labels = []
    groups: list[list] = []
    for t, name, m in h.releases:
        k = np.searchsorted(h.t, t, side="right") - 1
        if not groups or t - groups[-1][-1][0] > 0.03 * span:
            groups.append([])
        groups[-1].append((t, name, m, float(h.mass_kg[k])))
    for group in groups:
        for t, name, m, m_after in group:
            ax_m.plot([t / SECONDS_PER_DAY], [m_after + m], marker="v", ls="none",
                      color=colors.get(name, "black"), markeredgecolor="black", mew=0.5,
                      markersize=7)
        # Releases close in time share one label, a line each, so they cannot overlap. The
        # mass line is a staircase going down: the free space is under the level the tug
        # leaves the group at (to the right), or, near the right edge, under the level it
        # arrives at (to the left).
        t0, _, m0, after0 = group[0]
        t1, _, _, after1 = group[-1]
        late = t0 > 0.8 * span  # near the right edge: label on the left
        # going left the staircase only rises: under the level before the group
        left = ((t0 / SECONDS_PER_DAY, after0 + m0), (-8, -5), "right", "top")
        # to the right: under the lowest level within the label's width (burns soon after)
        window = (h.t >= t1) & (h.t <= t1 + 0.15 * span)
        right = ((t1 / SECONDS_PER_DAY, min(after1, float(np.min(h.mass_kg[window])))),
                 (8, -5), "left", "top")
        above = ((t0 / SECONDS_PER_DAY, after0 + m0), (-8 if late else 8, 8),
                 "right" if late else "left", "bottom")
        labels.append(("\n".join(f"{name} ({m:.0f} kg)" for _, name, m, _ in group),
                       [left, right, above] if late else [right, left, above]))
    sc = plan.scenario
    ax_m.axhline(sc.tug.dry_mass_kg, color="#7f7f7f", ls=":", lw=0.9)
    ax_m.annotate(f"tug dry mass {sc.tug.dry_mass_kg:.0f} kg", (0.0, sc.tug.dry_mass_kg),
                  xytext=(2, 3), textcoords="offset points", fontsize=7, color="#555555")
    ax_m.set_ylabel("Total mass (kg)")
    ax_m.set_ylim(bottom=0.0)
    ax_m.set_title(_title(plan, "mass budget"))
    ax_p.plot(days, h.propellant_kg, color="#1f77b4", lw=1.3, label="propellant on board")
    ax_p.axhline(sc.tug.reserve_kg, color="#c0392b", ls="--", lw=0.9,
                 label=f"reserve {sc.tug.reserve_kg:.1f} kg")
    ax_p.axhline(sc.tug.propellant_kg, color="#7f7f7f", ls=":", lw=0.9,
                 label=f"loaded {sc.tug.propellant_kg:.1f} kg")
    ax_p.set_ylim(bottom=min(0.0, float(np.min(h.propellant_kg)) * 1.05))
    ax_p.set_ylabel("Propellant (kg)")
    ax_p.set_xlabel(_days_label(plan))
    # a free band over the loaded level for the legend, clear of the line and the margin note
    top = max(sc.tug.propellant_kg, float(np.max(h.propellant_kg)))
    ax_p.set_ylim(top=top * 1.22 if top > 0 else 1.0)
    ax_p.legend(loc="upper right", ncol=3, frameon=False)
    _texts_out_of_layout(fig)
    _place_labels(fig, ax_m, labels)
    # the propellant only falls: under and left of the end of the line is free
    end = (days[-1], float(h.propellant_kg[-1]))
    _place_labels(fig, ax_p, [(f"margin above reserve {plan.propellant_margin_kg:.1f} kg",
                               [(end, (-6, -6), "right", "top"),
                                (end, (-6, 6), "right", "bottom")])])
    _texts_out_of_layout(fig)
    return fig


# --------------------------------------------------------------------------------------------
# 4. Delta-v waterfall
# --------------------------------------------------------------------------------------------


def dv_waterfall(plan):
    """Delta-v per leg stacked as a waterfall, then the margin up to the delta-v available
    (:func:`otvplan.flight.trajectory.dv_budget`: the delta-v the usable propellant left at the end
    would still give at the final mass)."""
    with _rc():
        return _freeze_layout(_dv_waterfall(plan))


def _dv_waterfall(plan):
    bud = tr.dv_budget(plan)
    colors = _payload_colors(plan)
    legs = list(plan.legs)
    fig = _figure(max(6.5, 1.2 + 0.95 * (len(legs) + 2)), 5.2)
    ax = fig.add_subplot()
    base = 0.0
    labels = []
    for k, leg in enumerate(legs):
        dv = leg.dv_kms * 1000.0
        c = colors.get(leg.delivery.payload, "#888888") if leg.delivery else "#888888"
        ax.bar(k, dv, bottom=base, color=c, edgecolor="black", lw=0.5, width=0.7)
        ax.annotate(f"{dv:.1f}", (k, base + dv), xytext=(0, 2), textcoords="offset points",
                    ha="center", fontsize=7)
        if k + 1 < len(legs):
            ax.plot([k + 0.35, k + 0.65], [base + dv] * 2, color="black", lw=0.6)
        base += dv
        name = leg.delivery.payload if leg.delivery else leg.destination.split(" (")[0]
        labels.append(f"L{leg.index}\n{name}")
    total = base
    k = len(legs)
    margin = bud.margin_kms * 1000.0
    ax.bar(k, total, color="#555555", width=0.7, edgecolor="black", lw=0.5)
    ax.annotate(f"{total:.1f}", (k, total), xytext=(0, 2), textcoords="offset points",
                ha="center", fontsize=7, fontweight="bold")
    labels.append("planned\ntotal")
    if math.isfinite(margin):
        mc = ("#59a14f" if margin >= 0 else "#e15759") if plan.feasible else "#9d9d9d"
        ax.bar(k + 1, margin, bottom=total, color=mc, width=0.7, edgecolor="black", lw=0.5,
               hatch="//")
        ax.annotate(f"{margin:+.1f}", (k + 1, total + max(margin, 0.0)), xytext=(0, 2),
                    textcoords="offset points", ha="center", fontsize=7)
        # a partial plan's margin is what is left after the payloads it does deliver, not a
        # margin on the mission: say so, with what the whole manifest lacks
        labels.append("margin" if plan.feasible else "left after\nthe partial\nplan")
        if not plan.feasible:
            short = [f"{plan.shortfall_propellant_kg:.1f} kg of propellant"
                     if plan.shortfall_propellant_kg > 0 else "",
                     f"{plan.shortfall_time_s / SECONDS_PER_DAY:.1f} d"
                     if plan.shortfall_time_s > 0 else ""]
            short = [x for x in short if x]
            ax.annotate("NOT FEASIBLE: " + ", ".join(plan.undelivered or ("-",))
                        + " not delivered" + ("; the whole manifest lacks " + " and ".join(short)
                                              if short else ""),
                        (0.01, 0.97), xycoords="axes fraction", va="top", fontsize=8,
                        color="#c0392b", bbox=_LABEL_BOX)
        avail = bud.available_kms * 1000.0
        ax.axhline(avail, color="#2c7d32" if margin >= 0 else "#c0392b", ls="--", lw=1.0)
        left = (f"{bud.propellant_margin_kg:.1f} kg left above the reserve"
                if bud.propellant_margin_kg >= 0 else
                f"{-bud.propellant_margin_kg:.1f} kg into the reserve")
        ax.annotate(f"available {avail:.1f} m/s (Isp {bud.ve_kms / 9.80665e-3:.0f} s, {left})",
                    (-0.4, avail), xytext=(0, 3), textcoords="offset points", fontsize=7.5,
                    bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 1.0})
    ax.set_xticks(range(len(labels)), labels, fontsize=7.5)
    ax.set_ylabel("Cumulative delta-v (m/s)")
    ax.set_xlabel("Leg (destination)")
    ax.grid(axis="x", visible=False)
    ax.set_ylim(0.0, max(total, total + (margin if math.isfinite(margin) else 0.0)) * 1.12 + 1.0)
    ax.set_title(_title(plan, "delta-v per leg against the delta-v available"))
    _texts_out_of_layout(fig)
    return fig


# --------------------------------------------------------------------------------------------
# 5. Planes: node against altitude
# --------------------------------------------------------------------------------------------


def planes(plan, n: int = 3000):
    """Where the planes are: the node (RAAN) of the tug and of every target relative to the
    drop-off plane, against mean altitude. The drop-off plane is the reference, turning at
    its own J2 rate, so a leg flown without drift is a vertical line, a J2 drift a horizontal
    run at the drift altitude, and a target plane that turns at another rate a line from its
    place at the epoch to its place at the release. With a sun-synchronous drop-off the
    node also reads as local time of the ascending node (LTAN, 1 h = 15 deg, top axis).
    Targets whose node is free (or equatorial) are dashed lines across at their altitude.
    When no target has a node to reach (GTO to GEO, say), the map is inclination against
    altitude instead."""
    with _rc():
        if any(p.target.raan_rad is not None and p.target.inc_rad >= math.radians(0.1)
               for p in plan.scenario.payloads):
            return _freeze_layout(_planes_figure(plan, n))
        return _freeze_layout(_inclination_map(plan, n))


def _inclination_map(plan, n):
    from matplotlib.lines import Line2D

    sc = plan.scenario
    colors = _payload_colors(plan)
    fig = _figure(10.0, 6.6)
    ax = fig.add_subplot()
    s = tr.sample(plan, n=n)
    x, y = np.degrees(s.i), s.a - R_EARTH_KM
    ax.plot(x, y, color="black", lw=1.1, zorder=3)
    handles = [Line2D([], [], color="black", lw=1.1, label="tug (mean elements)")]
    s0 = tr.initial_state(sc)
    ax.plot([math.degrees(s0.inc_rad)], [s0.a_km - R_EARTH_KM], marker="s", color="white",
            markeredgecolor="black", markersize=8, ls="none", zorder=4)
    handles.append(Line2D([], [], marker="s", color="white", markeredgecolor="black",
                          ls="none", label="drop-off (epoch)"))
    released = {leg.delivery.payload: leg.delivery for leg in plan.legs if leg.delivery}
    places: dict = {}
    for p in sc.payloads:
        spec, c = p.target, colors[p.name]
        xy = (math.degrees(spec.inc_rad), spec.a_km - R_EARTH_KM)
        ax.plot([xy[0]], [xy[1]], marker="o", color="white", markeredgecolor=c, mew=1.3,
                markersize=7, ls="none", zorder=4)
        places.setdefault((round(xy[0], 2), round(xy[1], 0)), []).append((xy, p.name))
        d = released.get(p.name)
        if d is not None:
            ax.plot([math.degrees(d.orbit.inc_rad)], [d.orbit.a_km - R_EARTH_KM], marker="v",
                    color=c, markeredgecolor="black", mew=0.5, markersize=8, ls="none",
                    zorder=5)
    handles.append(Line2D([], [], marker="o", color="white", markeredgecolor="#555555",
                          mew=1.3, ls="none", label="target"))
    if released:
        handles.append(Line2D([], [], marker="v", color="#777777", markeredgecolor="black",
                              mew=0.5, ls="none", label="release"))
    ax.margins(x=0.12, y=0.12)
    for items in places.values():
        (xl, yl), _ = items[0]
        ax.annotate("\n".join(name for _, name in items), (xl, yl), xytext=(9, 4),
                    textcoords="offset points", fontsize=7, va="bottom", ha="left",
                    linespacing=1.25, bbox=_LABEL_BOX)
    ax.set_xlabel("Inclination (deg)")
    ax.set_ylabel("Mean altitude a - R_E (km)")
    fig.legend(handles=handles, loc="outside lower center", ncol=4, frameon=False)
    ax.set_title(_title(plan, "inclination against altitude (no target has a node to reach)"))
    _texts_out_of_layout(fig)
    return fig


def _planes_figure(plan, n):
    from matplotlib.lines import Line2D

    from otvplan.constants import EARTH_SUN_MEAN_MOTION_RAD_S

    sc = plan.scenario
    s0 = tr.initial_state(sc)
    rate0 = float(tr.secular_rates(s0.a_km, s0.e, s0.inc_rad).raan)

    def relative(raan, t):
        return np.degrees(tr.wrap_pi(np.asarray(raan, float) - (s0.raan_rad + rate0 *
                                                                  np.asarray(t, float))))

    colors = _payload_colors(plan)
    fig = _figure(10.0, 6.6)
    ax = fig.add_subplot()
    s = tr.sample(plan, n=n)
    x = relative(s.raan, s.t)
    x[s.i < math.radians(0.1)] = np.nan  # an equatorial orbit has no node
    y = s.a - R_EARTH_KM
    ax.plot(_break_wraps(x), y, color="black", lw=1.1, zorder=3)
    handles = [Line2D([], [], color="black", lw=1.1, label="tug (mean elements)")]
    kinds = {"drift": "J2 drift", "phasing": "phasing orbit", "spiral": "low-thrust spiral"}
    drawn_kinds = []
    for leg in plan.legs:
        for ph in leg.phases:
            if ph.kind in kinds and ph.t_end_s > ph.t_start_s:
                inside = (s.t >= ph.t_start_s) & (s.t <= ph.t_end_s)
                if ph.kind != "spiral":  # the coast itself, not the transfers in and out
                    inside &= np.abs(s.a - ph.a_km) < 1.0
                ax.plot(_break_wraps(np.where(inside, x, np.nan)), np.where(inside, y, np.nan),
                        color=PHASE_COLORS[ph.kind], lw=4.0, alpha=0.55, zorder=2,
                        solid_capstyle="butt")
                if ph.kind not in drawn_kinds:
                    drawn_kinds.append(ph.kind)
    handles += [Line2D([], [], color=PHASE_COLORS[k], lw=4.0, alpha=0.55, label=kinds[k])
                for k in drawn_kinds]
    ax.plot([0.0 if s0.inc_rad >= math.radians(0.1) else np.nan], [s0.a_km - R_EARTH_KM],
            marker="s", color="white", markeredgecolor="black", markersize=8, ls="none",
            zorder=4)
    handles.append(Line2D([], [], marker="s", color="white", markeredgecolor="black",
                          ls="none", label="drop-off (epoch)"))
    released = {leg.delivery.payload: leg.delivery for leg in plan.legs if leg.delivery}
    t_end = tr.mission_end_s(plan)
    labels = []
    for p in sc.payloads:
        spec, c = p.target, colors[p.name]
        alt = spec.a_km - R_EARTH_KM
        d = released.get(p.name)
        if spec.raan_rad is None or spec.inc_rad < math.radians(0.1):
            ax.axhline(alt, color=c, ls="--", lw=0.9, zorder=1)
            labels.append((0.0, alt, f"{p.name}: any node", c, True, 0.0))
        else:
            t_rel = d.t_s if d is not None else t_end
            tt = np.linspace(0.0, t_rel, 200)
            xt = relative(tr.target_at(spec, tt).raan_rad, tt)
            ax.plot(_break_wraps(xt), np.full_like(xt, alt), color=c, lw=1.0, zorder=1)
            ax.plot([xt[0]], [alt], marker="o", color="white", markeredgecolor=c, mew=1.3,
                    markersize=6, ls="none", zorder=4)
            # the label goes beyond the epoch end of the line, away from the release
            away = float(xt[0] - xt[-1])
            labels.append((float(xt[0]), alt, p.name, c, False,
                           0.0 if abs(away) < 0.5 else math.copysign(1.0, away)))
        if d is not None:
            xd = float(relative(d.orbit.raan_rad, d.t_s))
            if d.orbit.inc_rad < math.radians(0.1):
                xd = float(np.nan)
            ax.plot([xd], [d.orbit.a_km - R_EARTH_KM], marker="v", color=c,
                    markeredgecolor="black", mew=0.5, markersize=8, ls="none", zorder=5)
    if any(not item[4] for item in labels):
        handles.append(Line2D([], [], marker="o", color="white", markeredgecolor="#555555",
                              mew=1.3, ls="none", label="target plane at the epoch"))
    if released:
        handles.append(Line2D([], [], marker="v", color="#777777", markeredgecolor="black",
                              mew=0.5, ls="none", label="release"))
    if any(item[4] for item in labels):
        handles.append(Line2D([], [], color="#777777", ls="--", lw=0.9,
                              label="target with any node"))
    # labels: targets sharing a place get one stacked label
    placed: dict = {}
    for xl, yl, text, _c, free, side in labels:
        key = ("free" if free else round(xl, 1), round(yl, 0))
        placed.setdefault(key, []).append((xl, yl, text, free, side))
    xlo, xhi = ax.get_xlim()
    for items in placed.values():
        xl, yl, _, free, side = items[0]
        names = [item[2] for item in items]
        # many targets sharing a plane (a constellation's slots): first and last name only
        text = "\n".join(names) if len(names) <= 3 else (
            f"{names[0]}\n... ({len(names) - 2} more)\n{names[-1]}")
        if free:
            ax.annotate(text, (0.01, yl), xycoords=("axes fraction", "data"), xytext=(0, 3),
                        textcoords="offset points", fontsize=7, va="bottom", bbox=_LABEL_BOX)
            continue
        if side == 0.0:  # a target turning with the drop-off plane: beside its point
            side = -1.0 if xl > xlo + 0.7 * (xhi - xlo) else 1.0
        ax.annotate(text, (xl, yl), xytext=(9 * side, 0), textcoords="offset points",
                    fontsize=7, va="center", ha="left" if side > 0 else "right",
                    linespacing=1.25, bbox=_LABEL_BOX)
    ax.margins(x=0.08, y=0.12)
    ax.set_xlabel("RAAN relative to the drop-off plane (deg); the drop-off plane turns at "
                  f"{math.degrees(rate0) * SECONDS_PER_DAY:+.3f} deg/d (J2)")
    ax.set_ylabel("Mean altitude a - R_E (km)")
    sun = abs(rate0 - EARTH_SUN_MEAN_MOTION_RAD_S) < 1e-3 * EARTH_SUN_MEAN_MOTION_RAD_S
    ltan0 = sc.dropoff.ltan_h
    if sun and ltan0 is not None:
        top = ax.secondary_xaxis("top", functions=(lambda v: ltan0 + v / 15.0,
                                                   lambda h: (h - ltan0) * 15.0))
        top.set_xlabel("Local time of the ascending node, LTAN (h)")
    fig.legend(handles=handles, loc="outside lower center", ncol=4, frameon=False)
    ax.set_title(_title(plan, "planes: node relative to the drop-off plane against altitude"))
    _texts_out_of_layout(fig)
    return fig


# --------------------------------------------------------------------------------------------
# 6. Pareto front
# --------------------------------------------------------------------------------------------


def pareto_points(plan) -> np.ndarray:
    """The plan's propellant-duration alternatives as an (n, 2) array [duration d,
    propellant used kg], sorted by duration."""
    alt = np.array(plan.alternatives, dtype=float).reshape(-1, 2)
    alt[:, 0] /= SECONDS_PER_DAY
    return alt[np.argsort(alt[:, 0], kind="stable")]


def pareto(plan):
    """The propellant-duration front of the alternatives the solver found
    (``Plan.alternatives``), with the chosen plan marked."""
    with _rc():
        return _freeze_layout(_pareto(plan))


def _pareto(plan):
    pts = pareto_points(plan)
    fig = _figure(7.5, 5.0)
    ax = fig.add_subplot()
    if pts.size:
        ax.step(pts[:, 0], pts[:, 1], where="post", color="#4e79a7", lw=1.0, alpha=0.7)
        ax.plot(pts[:, 0], pts[:, 1], "o", color="#4e79a7", markersize=5,
                label="non-dominated alternatives")
    ax.plot([plan.duration_s / SECONDS_PER_DAY], [plan.propellant_used_kg], marker="*",
            color="#e15759", markersize=15, markeredgecolor="black", ls="none",
            label=f"chosen plan ({plan.objective})")
    usable = plan.scenario.tug.propellant_kg - plan.scenario.tug.reserve_kg
    ax.axhline(usable, color="#c0392b", ls="--", lw=0.9, label=f"usable propellant {usable:.1f} kg")
    limit = plan.scenario.constraints.max_duration_s
    if limit is not None:
        ax.axvline(limit / SECONDS_PER_DAY, color="#7f7f7f", ls=":", lw=0.9,
                   label=f"duration limit {limit / SECONDS_PER_DAY:.0f} d")
    ax.set_xlabel("Mission duration (d)")
    ax.set_ylabel("Propellant used (kg)")
    ax.legend(loc="best", frameon=False)
    ax.set_title(_title(plan, "propellant-duration trade-off"))
    return fig


FIGURE_FUNCTIONS = {
    "timeline": timeline,
    "elements": elements,
    "mass": mass,
    "dv_waterfall": dv_waterfall,
    "planes": planes,
    "pareto": pareto,
}


def all_figures(plan) -> dict:
    """Every figure that applies to ``plan`` as ``{name: Figure}`` (the Pareto front only when
    the plan carries alternatives or its objective is ``pareto``)."""
    names = [n for n in FIGURE_FUNCTIONS
             if n != "pareto" or plan.objective == "pareto" or len(plan.alternatives) > 1]
    return {n: FIGURE_FUNCTIONS[n](plan) for n in names}


__all__ = [
    "FIGURE_FUNCTIONS",
    "PHASE_COLORS",
    "RC",
    "all_figures",
    "dv_waterfall",
    "elements",
    "figure_bytes",
    "mass",
    "pareto",
    "pareto_points",
    "planes",
    "save_figure",
    "timeline",
]
