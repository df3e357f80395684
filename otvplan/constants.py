"""Physical constants in otvplan's core units (km, km/s, s, rad, kg).

This is the one source of constants for the whole package. Every kernel function takes the
constants it needs as keyword arguments defaulting to these values, so a test can reproduce a
published example with the constants its source used.
"""

import math
from typing import NamedTuple

#: Earth's gravitational parameter [km^3/s^2]. WGS-84 / EGM-96 value (NIMA TR8350.2, 3rd ed.,
#: table 3.1, GM including the atmosphere), also boinor's ``GM_earth``.
MU_EARTH_KM3_S2 = 398600.4418

#: Earth's equatorial radius [km]. WGS-84 semi-major axis (NIMA TR8350.2, table 3.1).
R_EARTH_KM = 6378.137

#: Earth's second zonal harmonic J2 [-]. EGM-2008 normalised C20 = -4.84165143790815e-4
#: (Pavlis et al. 2012), J2 = -sqrt(5) * C20.
J2_EARTH = 1.0826266835531513e-3

#: Earth's third and fourth zonal harmonics [-] from EGM-2008 (J_n = -sqrt(2n+1) * Cbar_n0),
#: used only by the optional higher-fidelity verification force model.
J3_EARTH = -2.5326564853322355e-6
J4_EARTH = -1.6196215913670001e-6

#: Standard gravity [m/s^2], exact by definition (3rd CGPM, 1901). Isp in s times G0 gives m/s.
G0_M_S2 = 9.80665

#: Standard gravity in core units [km/s^2].
G0_KM_S2 = G0_M_S2 / 1000.0

#: Length of the tropical year [days] (Vallado, Fundamentals of Astrodynamics and Applications,
#: 4th ed., sec. 3.5, 365.2421897 d). A sun-synchronous orbit's node follows the mean Sun, which
#: goes once around in right ascension per tropical year.
TROPICAL_YEAR_DAYS = 365.2421897

#: Seconds per day (SI days; core time unit is the SI second).
SECONDS_PER_DAY = 86400.0

#: Earth's mean motion around the Sun = the mean Sun's rate in right ascension [rad/s]
#: (Vallado, 4th ed., eq. 9-43 context: 1.991063853e-7 rad/s). Required nodal rate of a
#: sun-synchronous orbit.
EARTH_SUN_MEAN_MOTION_RAD_S = 2.0 * math.pi / (TROPICAL_YEAR_DAYS * SECONDS_PER_DAY)

#: Earth's rotation rate [rad/s] (WGS-84, NIMA TR8350.2 table 3.1).
OMEGA_EARTH_RAD_S = 7.292115e-5

#: Julian date of the J2000.0 epoch (2000-01-01 12:00 TT) [days].
JD_J2000 = 2451545.0

#: Lowest altitude [km] at which otvplan accepts an orbit's perigee. Below ~100 km (the Karman
#: line) an orbit decays within a revolution; the scenario validator rejects such orbits.
MIN_PERIGEE_ALTITUDE_KM = 100.0

#: Default lowest altitude [km] for a J2 drift orbit. Below ~350 km drag decays a small tug by
#: kilometres per day; a scenario may change it (``constraints.min_drift_altitude``).
DEFAULT_MIN_DRIFT_ALTITUDE_KM = 350.0

#: Default highest altitude [km] for a J2 drift orbit (inner Van Allen belt starts above).
DEFAULT_MAX_DRIFT_ALTITUDE_KM = 2000.0


class Body(NamedTuple):
    """A central body as the kernels see it: gravitational parameter, equatorial radius and
    second zonal harmonic, in core units.

    The triple every J2 kernel takes (:func:`otvplan.core.orbits.secular_rates` and the
    planner's leg kernels). ``mu`` and ``r_eq`` are the short names those kernels read from a
    leg context, so a ``Body`` can stand in wherever a context is asked only for them.
    """

    mu_km3_s2: float
    r_eq_km: float
    j2: float

    @property
    def mu(self) -> float:
        """Gravitational parameter [km^3/s^2] (the name a leg context uses)."""
        return self.mu_km3_s2

    @property
    def r_eq(self) -> float:
        """Equatorial radius [km] (the name a leg context uses)."""
        return self.r_eq_km


#: The Earth of otvplan's planning model and default verification force model.
EARTH = Body(MU_EARTH_KM3_S2, R_EARTH_KM, J2_EARTH)
