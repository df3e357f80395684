"""Exports of a Plan for other tools: CCSDS OEM and OPM (KVN, version 3.0) and a GMAT script.

- :func:`oem_text` / :func:`write_oem` - an Orbit Ephemeris Message (CCSDS 502.0-B-3) of the
  tug over the whole mission, one segment between consecutive burns (an impulsive burn ends one
  segment and starts the next at the same epoch; a low-thrust arc is a segment of its own).
- :func:`opm_text` / :func:`write_opm` - an Orbit Parameter Message (CCSDS 502.0-B-3) with the
  tug's state at the epoch, its Keplerian elements, its mass and one maneuver block per burn.
- :func:`gmat_script` / :func:`write_gmat` - a GMAT script: the tug in Keplerian elements at the
  epoch, a J2-only Earth gravity model, one impulsive burn per planned burn in VNB axes, a
  Propagate/Maneuver sequence at the planned epochs and a ReportFile.

Frames. otvplan's inertial frame is the mean equator and equinox of the scenario epoch (the
frame in which scenario RAANs and LTANs are defined, see :mod:`otvplan.flight.trajectory`). The
exports rotate states into EME2000 (mean equator and equinox of J2000.0, labelled ``EME2000``
in CCSDS files and ``EarthMJ2000Eq`` in GMAT, which other tools read) with the IAU-1976
precession matrix (Lieske 1977; Vallado 4th ed. eq. 3-88): r_J2000 = ROT3(zeta) ROT2(-theta)
ROT3(z) r_MOD. The Julian date of the epoch in UTC stands in for TT (a 69 s difference moves
the pole by ~1e-9 rad). Nutation (up to ~9 arcsec between mean and true pole) is not applied:
otvplan's kernels use the mean equator.

Burn frames. The plan's delta-v is in the pre-burn T/N/W frame: T along the velocity, W along
the angular momentum (orbit normal), N = W x T (towards the Earth on a circular orbit). The OPM
writes it unchanged with ``MAN_REF_FRAME = TNW``, which is the CCSDS (SANA) TNW frame with the
same axes. GMAT's VNB axes are V along the velocity, N along the orbit normal and B = V x N, so
``V = T``, ``N_vnb = W`` and ``B = T x W = -N_tnw``.

States are those of the planned *mean* orbit (secular J2 theory): they differ from an
osculating trajectory by the short-period J2 terms (a few km in position). Treat the OEM as
the plan drawn in space, and the GMAT script as a starting point for a high-fidelity run.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import math
import os
import re
from pathlib import Path

import numpy as np

from otvplan import __version__
from otvplan.constants import G0_M_S2, JD_J2000, MU_EARTH_KM3_S2
from otvplan.core.orbits import period, rv_to_coe
from otvplan.core.timeutil import julian_date
from otvplan.flight import trajectory as tr
from otvplan.io.atomicio import write_text

#: CCSDS message version written.
CCSDS_VERSION = "3.0"

#: Label of the frame the exports use (CCSDS REF_FRAME / GMAT coordinate system).
REF_FRAME = "EME2000"
GMAT_FRAME = "EarthMJ2000Eq"

#: Samples per revolution of the smallest orbit, for the default OEM step.
SAMPLES_PER_REV = 20

#: Most states an OEM holds (about 10 MB of text): the default step grows for a very long
#: mission so that it stays below this, and an explicit step that would exceed it is refused.
MAX_OEM_STATES = 100_000

ARCSEC = math.pi / (180.0 * 3600.0)


def _f(x: float, digits: int) -> str:
    """Fixed-point text without a negative zero (``-0.000`` becomes ``0.000``)."""
    text = f"{float(x):.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0.0 else text


# --------------------------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------------------------


def _rot2(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0.0, -s], [0.0, 1.0, 0.0], [s, 0.0, c]])


def _rot3(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])


def precession_angles(jd_tt: float) -> tuple[float, float, float]:
    """IAU-1976 precession angles (zeta, theta, z) [rad] from J2000.0 to ``jd_tt``.

    Lieske et al. (1977), Vallado 4th ed. eq. 3-87, T in Julian centuries of TT from J2000.0:
    zeta = 2306.2181" T + 0.30188" T^2 + 0.017998" T^3,
    theta = 2004.3109" T - 0.42665" T^2 - 0.041833" T^3,
    z = 2306.2181" T + 1.09468" T^2 + 0.018203" T^3.
    """
    t = (float(jd_tt) - JD_J2000) / 36525.0
    zeta = (2306.2181 * t + 0.30188 * t**2 + 0.017998 * t**3) * ARCSEC
    theta = (2004.3109 * t - 0.42665 * t**2 - 0.041833 * t**3) * ARCSEC
    z = (2306.2181 * t + 1.09468 * t**2 + 0.018203 * t**3) * ARCSEC
    return zeta, theta, z


def mod_to_j2000(jd_tt: float) -> np.ndarray:
    """Rotation matrix from the mean equator and equinox of ``jd_tt`` to EME2000 (J2000.0).

    Vallado 4th ed. eq. 3-88: r_J2000 = ROT3(zeta) ROT2(-theta) ROT3(z) r_MOD, with the
    passive (frame) rotations ROT2, ROT3. The transpose of SOFA's ``iauPmat76``.
    """
    zeta, theta, z = precession_angles(jd_tt)
    return _rot3(zeta) @ _rot2(-theta) @ _rot3(z)


def frame_rotation(plan) -> np.ndarray:
    """The rotation from otvplan's inertial frame (mean of the scenario epoch) to EME2000."""
    return mod_to_j2000(julian_date(plan.scenario.epoch))


def states_j2000(plan, t, side: str = "right"):
    """Position [km] and velocity [km/s] of the planned mean orbit at ``t`` in EME2000."""
    r, v = tr.states(plan, t, side=side)
    m = frame_rotation(plan)
    return r @ m.T, v @ m.T


# --------------------------------------------------------------------------------------------
# Time text
# --------------------------------------------------------------------------------------------


def _epoch64(plan) -> np.datetime64:
    e = plan.scenario.epoch
    if e.tzinfo is not None:
        e = e.astimezone(_dt.UTC).replace(tzinfo=None)
    return np.datetime64(e, "us")


def epoch_strings(plan, t) -> np.ndarray:
    """ISO 8601 UTC strings ``YYYY-MM-DDThh:mm:ss.ffffff`` of ``t`` s after the epoch
    (rounded to the microsecond; leap seconds ignored like everywhere in otvplan)."""
    t = np.atleast_1d(np.asarray(t, dtype=float))
    stamps = _epoch64(plan) + np.round(t * 1e6).astype("timedelta64[us]")
    return np.datetime_as_string(stamps, unit="us")


def _creation(created: _dt.datetime | None) -> str:
    moment = created or _dt.datetime.now(_dt.UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(_dt.UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


# --------------------------------------------------------------------------------------------
# Text from the plan in the exports: never more than the format can carry
# --------------------------------------------------------------------------------------------

#: Longest text taken from the plan (a name, a label) into an export line.
MAX_EXPORT_TEXT = 80


def _escape_char(ch: str) -> str:
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch)
    if named:
        return named
    code = ord(ch)
    return (
        f"\\x{code:02x}"
        if code < 0x100
        else (f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    )


def kvn_text(text: str, limit: int = MAX_EXPORT_TEXT) -> str:
    """``text`` as a CCSDS KVN value or COMMENT text: printable ASCII on one line.

    KVN lines are ASCII (CCSDS 502.0-B-3, 7.4); a line break would start a new keyword line
    (an injected ``MAN_DV_1 = ...`` record). Control and non-ASCII characters are written as
    escapes (``\\n``, ``\\x1b``, ``\\u00e9``); the text is cut to ``limit`` characters.
    """
    out = "".join(ch if " " <= ch <= "~" else _escape_char(ch) for ch in str(text))
    out = " ".join(out.split())  # no leading, trailing or repeated blanks
    return out if len(out) <= limit else out[: limit - 3] + "..."


def kvn_name(text: str) -> str:
    """An OBJECT_NAME/OBJECT_ID value: :func:`kvn_text` without blanks or ``=``."""
    out = kvn_text(text).replace(" ", "_").replace("=", "_")
    return out or "UNKNOWN"


def gmat_comment(text: str, limit: int = MAX_EXPORT_TEXT) -> str:
    """Text for a GMAT ``%`` comment: one line of printable ASCII (see :func:`kvn_text`), so
    that nothing after it is read as a command (``Create Spacecraft Evil;``)."""
    return kvn_text(text, limit)


def _object_name(plan) -> str:
    return kvn_name(plan.scenario.tug.name)


# --------------------------------------------------------------------------------------------
# OEM
# --------------------------------------------------------------------------------------------


def default_step_s(plan) -> float:
    """Default OEM step [s]: the shortest orbital period met in the plan / SAMPLES_PER_REV,
    rounded down to 10 s (280 s in low Earth orbit), at least 10 s."""
    s = tr.sample(plan, n=400)
    p_min = float(period(float(np.min(s.a))))
    return max(10.0, math.floor(p_min / SAMPLES_PER_REV / 10.0) * 10.0)


#: Shortest OEM segment [s]: between events closer than this (e.g. the drop-off and a burn
#: 7 ms later) no segment is written.
MIN_SEGMENT_S = 1.0


def oem_segments(plan, step_s: float | None = None, t_end_s: float | None = None):
    """The OEM's segments as ``[(t array [s], label)]``: boundaries at every event (impulsive
    burn, start and end of a thrust arc); each holds its two boundary times and a grid of
    ``step_s`` between them. The last one runs one revolution of the final orbit past the end
    of the mission unless ``t_end_s`` is given."""
    step = float(step_s) if step_s is not None else default_step_s(plan)
    if not step > 0:
        raise ValueError(f"step_s must be positive, got {step_s!r}")
    ev = tr.event_times(plan)
    end = tr.mission_end_s(plan)
    if t_end_s is None:
        final = tr.elements_at(plan, end)
        t_end_s = end + float(period(float(final.a)))
    bounds = np.unique(np.concatenate([[0.0], ev[(ev > 0.0) & (ev < t_end_s)], [t_end_s]]))
    room = MAX_OEM_STATES - 2 * len(bounds)
    if float(t_end_s) / step > room:
        if step_s is not None:
            raise ValueError(
                f"step_s {step_s!r} gives more than {MAX_OEM_STATES:,} states over "
                f"{float(t_end_s):.6g} s; use a longer step"
            )
        step = math.ceil(float(t_end_s) / max(room, 1) / 10.0) * 10.0
    labels = _segment_labels(plan)
    out = []
    for t0, t1 in itertools.pairwise(bounds):
        if t1 - t0 < MIN_SEGMENT_S:  # two events a moment apart: no arc worth a segment
            continue
        n_int = math.ceil((t1 - t0) / step)
        grid = t0 + step * np.arange(n_int)
        t = np.append(grid, t1)
        out.append((t, labels.get(round(float(t0), 6), "coast")))
    return out


def _segment_labels(plan) -> dict:
    labels = {0.0: "drop-off orbit"}
    for leg, b in tr.burns_in_order(plan):
        if b.orbit_after is None:
            continue
        text = f"leg {leg.index} after {b.label}"
        if tr.is_arc(b):
            labels[round(float(b.t_s), 6)] = f"leg {leg.index} {b.label} (low-thrust arc)"
            labels[round(float(b.orbit_after.t_s), 6)] = f"leg {leg.index} after {b.label}"
        else:
            labels[round(float(b.t_s), 6)] = text
    return labels


def oem_text(
    plan,
    step_s: float | None = None,
    *,
    created: _dt.datetime | None = None,
    object_id: str | None = None,
    interpolation_degree: int = 7,
    t_end_s: float | None = None,
) -> str:
    """A CCSDS OEM (KVN, version 3.0) of the tug's planned mean orbit, in EME2000, UTC.

    ``step_s`` defaults to :func:`default_step_s`. Positions in km with 6 decimals, velocities in
    km/s with 9 decimals; each velocity is the time derivative of the positions
    (:func:`otvplan.flight.trajectory.ephemeris_states`). ``created`` fixes CREATION_DATE
    (default now).
    """
    name = _object_name(plan)
    oid = kvn_name(object_id) if object_id else name
    m = frame_rotation(plan)
    lines = [
        f"CCSDS_OEM_VERS = {CCSDS_VERSION}",
        f"COMMENT otvplan {__version__} plan of scenario {kvn_text(plan.scenario.name)}: "
        "planned mean orbit "
        "(secular J2 theory), short-period terms not included",
        "COMMENT States rotated from the mean equator and equinox of the scenario epoch to "
        "EME2000 with the IAU-1976 precession (Vallado eq. 3-88)",
        f"CREATION_DATE = {_creation(created)}",
        "ORIGINATOR = otvplan",
        "",
    ]
    for t, label in oem_segments(plan, step_s, t_end_s):
        r0, v0 = tr.ephemeris_states(plan, t[:-1], side="right")
        r1, v1 = tr.ephemeris_states(plan, t[-1:], side="left")
        r = np.concatenate([r0, r1]) @ m.T
        v = np.concatenate([v0, v1]) @ m.T
        stamps = epoch_strings(plan, t)
        degree = max(1, min(int(interpolation_degree), t.size - 1))
        lines += [
            "META_START",
            f"OBJECT_NAME = {name}",
            f"OBJECT_ID = {oid}",
            "CENTER_NAME = EARTH",
            f"REF_FRAME = {REF_FRAME}",
            "TIME_SYSTEM = UTC",
            f"START_TIME = {stamps[0]}",
            f"USEABLE_START_TIME = {stamps[0]}",
            f"USEABLE_STOP_TIME = {stamps[-1]}",
            f"STOP_TIME = {stamps[-1]}",
            "INTERPOLATION = LAGRANGE",
            f"INTERPOLATION_DEGREE = {degree}",
            "META_STOP",
            "",
            f"COMMENT {kvn_text(label)}",
        ]
        lines += [
            f"{s} {x:.6f} {y:.6f} {z:.6f} {vx:.9f} {vy:.9f} {vz:.9f}"
            for s, (x, y, z), (vx, vy, vz) in zip(stamps, r, v)
        ]
        lines.append("")
    return "\n".join(lines)


def write_oem(plan, path: str | os.PathLike, step_s: float | None = None, **kwargs) -> Path:
    """Write :func:`oem_text` to ``path`` atomically; return the path."""
    return write_text(path, oem_text(plan, step_s, **kwargs))


# --------------------------------------------------------------------------------------------
# OPM
# --------------------------------------------------------------------------------------------


def exported_burns(plan) -> list:
    """The burns the OPM and the GMAT script carry, as ``(leg, number in leg, burn)`` in time
    order; burns with zero delta-v are left out."""
    out = []
    for leg in plan.legs:
        for k, b in enumerate(leg.burns, start=1):
            if b.dv_kms > 0.0:
                out.append((leg, k, b))
    out.sort(key=lambda x: x[2].t_s)
    return out


def _elements_j2000(plan, t: float = 0.0, side="left"):
    """State and elements in EME2000 at ``t``; by default just before any burn at ``t`` (the
    OPM's and GMAT's initial state must precede the first maneuver, which may be at t = 0)."""
    r, v = states_j2000(plan, np.array([t]), side=side)
    return r[0], v[0], rv_to_coe(r[0], v[0])


def opm_text(plan, *, created: _dt.datetime | None = None, object_id: str | None = None) -> str:
    """A CCSDS OPM (KVN, version 3.0): the tug's state and Keplerian elements at the epoch in
    EME2000, its initial mass, and one maneuver per burn of the plan.

    Maneuvers: ``MAN_EPOCH_IGNITION`` the planned burn epoch (impulsive burns are written with
    ``MAN_DURATION = 0``, the finite burn time they would take is in a COMMENT; a low-thrust arc,
    a burn whose ``orbit_after`` lies at the end of its thrusting as in
    :func:`otvplan.flight.trajectory.is_arc`, with its duration and its total delta-v),
    ``MAN_DELTA_MASS`` the propellant burnt (negative), ``MAN_REF_FRAME = TNW`` and
    ``MAN_DV_1..3`` the T, N, W components [km/s].
    Payload releases are listed as COMMENT lines (they are not maneuvers).
    """
    name = _object_name(plan)
    oid = kvn_name(object_id) if object_id else name
    r, v, el = _elements_j2000(plan)
    epoch = epoch_strings(plan, 0.0)[0]
    sc = plan.scenario
    lines = [
        f"CCSDS_OPM_VERS = {CCSDS_VERSION}",
        f"COMMENT otvplan {__version__} plan of scenario {kvn_text(sc.name)}",
        f"CREATION_DATE = {_creation(created)}",
        "ORIGINATOR = otvplan",
        "",
        f"OBJECT_NAME = {name}",
        f"OBJECT_ID = {oid}",
        "CENTER_NAME = EARTH",
        f"REF_FRAME = {REF_FRAME}",
        "TIME_SYSTEM = UTC",
        "",
        "COMMENT State at the epoch, before any burn: the drop-off orbit (planned mean elements "
        "taken as a state)",
        f"EPOCH = {epoch}",
        f"X = {r[0]:.6f} [km]",
        f"Y = {r[1]:.6f} [km]",
        f"Z = {r[2]:.6f} [km]",
        f"X_DOT = {v[0]:.9f} [km/s]",
        f"Y_DOT = {v[1]:.9f} [km/s]",
        f"Z_DOT = {v[2]:.9f} [km/s]",
        "",
        "COMMENT Keplerian elements of the same state in EME2000",
        f"SEMI_MAJOR_AXIS = {float(el.a):.6f} [km]",
        f"ECCENTRICITY = {float(el.e):.9f}",
        f"INCLINATION = {math.degrees(float(el.i)):.9f} [deg]",
        f"RA_OF_ASC_NODE = {math.degrees(float(el.raan)):.9f} [deg]",
        f"ARG_OF_PERICENTER = {math.degrees(float(el.argp)):.9f} [deg]",
        f"TRUE_ANOMALY = {math.degrees(float(el.nu)):.9f} [deg]",
        f"GM = {MU_EARTH_KM3_S2:.4f} [km**3/s**2]",
        "",
        "COMMENT Total mass at the epoch: tug dry mass, propellant and every payload",
        f"MASS = {sc.initial_mass_kg:.6f} [kg]",
        "",
    ]
    for t, payload, mass in tr.mass_history(plan).releases:
        lines.append(
            f"COMMENT Release of {kvn_text(payload)} ({mass:.3f} kg) at {epoch_strings(plan, t)[0]}"
        )
    if plan.legs:
        lines.append("")
    for leg, k, b in exported_burns(plan):
        arc = tr.is_arc(b)
        lines += [
            f"COMMENT Leg {leg.index} burn {k}: {kvn_text(b.label)}, engine "
            f"{kvn_text(b.engine)}, "
            f"delta-v {b.dv_kms * 1000.0:.3f} m/s, mass before {b.mass_before_kg:.3f} kg"
            + ("" if arc else f"; finite burn would take {b.duration_s:.1f} s"),
            "COMMENT MAN_REF_FRAME TNW: T along the velocity, W along the angular momentum, "
            "N = W x T (pre-burn orbit)",
            f"MAN_EPOCH_IGNITION = {epoch_strings(plan, b.t_s)[0]}",
            f"MAN_DURATION = {b.duration_s if arc else 0.0:.3f} [s]",
            f"MAN_DELTA_MASS = {-b.propellant_kg:.6f} [kg]",
            "MAN_REF_FRAME = TNW",
            f"MAN_DV_1 = {_f(b.dv_tnw_kms[0], 9)} [km/s]",
            f"MAN_DV_2 = {_f(b.dv_tnw_kms[1], 9)} [km/s]",
            f"MAN_DV_3 = {_f(b.dv_tnw_kms[2], 9)} [km/s]",
            "",
        ]
    return "\n".join(lines)


def write_opm(plan, path: str | os.PathLike, **kwargs) -> Path:
    """Write :func:`opm_text` to ``path`` atomically; return the path."""
    return write_text(path, opm_text(plan, **kwargs))


# --------------------------------------------------------------------------------------------
# GMAT
# --------------------------------------------------------------------------------------------

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def gmat_epoch(plan, t_s: float) -> str:
    """GMAT UTCGregorian text ``DD Mon YYYY hh:mm:ss.sss`` of ``t_s`` after the epoch."""
    iso = str(epoch_strings(plan, t_s)[0])  # YYYY-MM-DDThh:mm:ss.ffffff
    y, mo, d = iso[:10].split("-")
    return f"{d} {_MONTHS[int(mo) - 1]} {y} {iso[11:23]}"


def tnw_to_vnb(dv_tnw) -> tuple[float, float, float]:
    """Map a T/N/W delta-v to GMAT's VNB axes: V = T, N_vnb = W, B = V x N_vnb = -N_tnw."""
    t, n, w = (float(x) for x in dv_tnw)
    return t, w, 0.0 - n  # 0.0 - n avoids a negative zero


def _gmat_name(text: str) -> str:
    """A GMAT identifier (and file-name part) from any text: ASCII letters, digits and ``_``
    only, starting with a letter, at most 60 characters."""
    out = "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in str(text))
    out = out if out and out[0].isalpha() else "X" + out
    return out[:60]


def gmat_script(plan, *, report_file: str | None = None) -> str:
    """A GMAT script of the plan (see the module docstring for frames and axes).

    The tug starts in Keplerian elements (EarthMJ2000Eq) at the epoch; its DryMass carries the
    dry tug and the payloads still on board (a release lowers it), its ChemicalTank the
    propellant. Each impulsive burn is an ImpulsiveBurn in VNB axes at the planned epoch, with
    the engine's Isp so GMAT decrements the tank. Low-thrust arcs are approximated by one
    impulse at the middle of the arc (their delta-v at once), marked in the script.
    """
    sc = plan.scenario
    name = "Tug"
    _, _, el = _elements_j2000(plan)
    engines = {e.name: e for e in sc.tug.engines}
    payload_total = sum(p.mass_kg for p in sc.payloads)
    out = [
        f"% GMAT script written by otvplan {__version__} for scenario {gmat_comment(sc.name)}",
        "% Initial state: the planned mean drop-off orbit at the epoch, rotated to EarthMJ2000Eq",
        "% (IAU-1976 precession); GMAT reads the elements as osculating.",
        "% Burns: VNB axes, V = T (velocity), N = W (orbit normal), B = V x N = -N of the plan's",
        "% TNW frame. Force model: Earth point mass + J2 (degree 2, order 0).",
        "",
        f"Create Spacecraft {name};",
        f"GMAT {name}.DateFormat = UTCGregorian;",
        f"GMAT {name}.Epoch = '{gmat_epoch(plan, 0.0)}';",
        f"GMAT {name}.CoordinateSystem = {GMAT_FRAME};",
        f"GMAT {name}.DisplayStateType = Keplerian;",
        f"GMAT {name}.SMA = {float(el.a):.6f};",
        f"GMAT {name}.ECC = {float(el.e):.9f};",
        f"GMAT {name}.INC = {math.degrees(float(el.i)):.9f};",
        f"GMAT {name}.RAAN = {math.degrees(float(el.raan)):.9f};",
        f"GMAT {name}.AOP = {math.degrees(float(el.argp)):.9f};",
        f"GMAT {name}.TA = {math.degrees(float(el.nu)):.9f};",
        f"GMAT {name}.DryMass = {sc.tug.dry_mass_kg + payload_total:.6f};",
        f"GMAT {name}.Tanks = {{MainTank}};",
        "",
        "Create ChemicalTank MainTank;",
        f"GMAT MainTank.FuelMass = {sc.tug.propellant_kg:.6f};",
        "GMAT MainTank.AllowNegativeFuelMass = false;",
        "",
        "Create ForceModel J2Model;",
        "GMAT J2Model.CentralBody = Earth;",
        "GMAT J2Model.PrimaryBodies = {Earth};",
        "GMAT J2Model.GravityField.Earth.Degree = 2;",
        "GMAT J2Model.GravityField.Earth.Order = 0;",
        "GMAT J2Model.GravityField.Earth.PotentialFile = 'JGM2.cof';",
        "GMAT J2Model.Drag.AtmosphereModel = None;",
        "GMAT J2Model.SRP = Off;",
        "",
        "Create Propagator J2Prop;",
        "GMAT J2Prop.FM = J2Model;",
        "GMAT J2Prop.Type = RungeKutta89;",
        "GMAT J2Prop.InitialStepSize = 60;",
        "GMAT J2Prop.Accuracy = 1e-12;",
        "GMAT J2Prop.MinStep = 0.001;",
        "GMAT J2Prop.MaxStep = 2700;",
        "",
    ]
    burns = exported_burns(plan)
    burn_names = []
    for leg, k, b in burns:
        bn = f"Burn_L{leg.index}_{k}"
        burn_names.append(bn)
        e1, e2, e3 = tnw_to_vnb(b.dv_tnw_kms)
        eng = engines.get(b.engine)
        isp = eng.isp_s if eng is not None else 300.0
        out += [
            f"% leg {leg.index} burn {k}: {gmat_comment(b.label)} ({gmat_comment(b.engine)}, "
            f"{b.dv_kms * 1000.0:.3f} m/s)",
            f"Create ImpulsiveBurn {bn};",
            f"GMAT {bn}.CoordinateSystem = Local;",
            f"GMAT {bn}.Origin = Earth;",
            f"GMAT {bn}.Axes = VNB;",
            f"GMAT {bn}.Element1 = {_f(e1, 9)};",
            f"GMAT {bn}.Element2 = {_f(e2, 9)};",
            f"GMAT {bn}.Element3 = {_f(e3, 9)};",
            f"GMAT {bn}.DecrementMass = true;",
            f"GMAT {bn}.Tank = {{MainTank}};",
            f"GMAT {bn}.Isp = {isp:.3f};",
            f"GMAT {bn}.GravitationalAccel = {G0_M_S2};",
            "",
        ]
    rf = report_file or f"otvplan_{_gmat_name(sc.name)}.txt"
    if not rf or re.search(r"['%;\x00-\x1f\x7f]", rf):
        raise ValueError(
            f"report_file {rf!r}: quotes, '%', ';' and control characters "
            "cannot be written in a GMAT string"
        )
    out += [
        "Create ReportFile OtvReport;",
        f"GMAT OtvReport.Filename = '{rf}';",
        f"GMAT OtvReport.Add = {{{name}.UTCGregorian, {name}.Earth.SMA, {name}.Earth.ECC, "
        f"{name}.{GMAT_FRAME}.INC, {name}.{GMAT_FRAME}.RAAN, {name}.{GMAT_FRAME}.AOP, "
        f"{name}.Earth.TA, {name}.TotalMass}};",
        "GMAT OtvReport.WriteHeaders = true;",
        "",
        "BeginMissionSequence;",
    ]
    # events in time order: burns (at the planned epoch, or mid-arc) and releases
    events = []
    order = 0
    bmap = {id(b): bn for (leg, k, b), bn in zip(burns, burn_names)}
    for leg in plan.legs:
        for b in leg.burns:
            if id(b) in bmap:
                arc = tr.is_arc(b)
                t = b.t_s + (0.5 * b.duration_s if arc else 0.0)
                events.append((t, order, "burn", bmap[id(b)], b, arc))
                order += 1
        if leg.delivery is not None:
            events.append(
                (
                    leg.delivery.t_s,
                    order,
                    "release",
                    leg.delivery.payload,
                    leg.delivery.mass_kg,
                    False,
                )
            )
            order += 1
    events.sort(key=lambda e: (e[0], e[1]))
    t_now = 0.0
    dry = sc.tug.dry_mass_kg + payload_total
    for t, _o, kind, what, extra, arc in events:
        if t - t_now > 1e-6:
            out.append(
                f"Propagate J2Prop({name}) {{{name}.ElapsedSecs = {t - t_now:.6f}}};"
                f"  % to {gmat_epoch(plan, t)} UTC"
            )
            t_now = t
        if kind == "burn":
            if arc:
                out.append(
                    f"% APPROXIMATION: low-thrust arc of {extra.duration_s / 86400.0:.3f} d"
                    " flown as one impulse at its middle"
                )
            out.append(f"Maneuver {what}({name});")
        else:
            dry -= float(extra)
            out.append(
                f"GMAT {name}.DryMass = {dry:.6f};  % release {gmat_comment(what)} "
                f"({float(extra):.3f} kg)"
            )
    end = tr.mission_end_s(plan)
    if end - t_now > 1e-6:
        out.append(
            f"Propagate J2Prop({name}) {{{name}.ElapsedSecs = {end - t_now:.6f}}};"
            f"  % to {gmat_epoch(plan, end)} UTC (end of mission)"
        )
        t_now = end
    final = float(period(float(tr.elements_at(plan, t_now).a)))
    out.append(
        f"Propagate J2Prop({name}) {{{name}.ElapsedSecs = {final:.6f}}};"
        "  % one revolution in the final orbit"
    )
    return "\n".join(out) + "\n"


def write_gmat(plan, path: str | os.PathLike, **kwargs) -> Path:
    """Write :func:`gmat_script` to ``path`` atomically; return the path."""
    return write_text(path, gmat_script(plan, **kwargs))


__all__ = [
    "GMAT_FRAME",
    "REF_FRAME",
    "default_step_s",
    "epoch_strings",
    "exported_burns",
    "frame_rotation",
    "gmat_epoch",
    "gmat_script",
    "mod_to_j2000",
    "oem_segments",
    "oem_text",
    "opm_text",
    "precession_angles",
    "states_j2000",
    "tnw_to_vnb",
    "write_gmat",
    "write_oem",
    "write_opm",
]
