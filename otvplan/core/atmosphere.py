"""The static exponential atmosphere: one table and one density function for the package.

Both users read it from here: orbit lifetime for re-entry disposal (:mod:`otvplan.core.lifetime`)
and the drag of the verification propagator (:mod:`otvplan.flight.propagation`), so the planned
disposal and the flown one see the same air.

Model: Vallado, *Fundamentals of Astrodynamics and Applications*, 4th ed. (2013), Table 8-4,
p. 567 (U.S. Standard Atmosphere 1976 below 25 km, CIRA-72 above). Between two base
altitudes the density falls exponentially,

    rho(h) = rho0 exp(-(h - h0) / H)

with the band whose base h0 is the highest at or below h; above 1000 km the last band
continues, below 0 km the first. The table is a mean-solar-activity atmosphere, good to a
factor of 2-3 over the solar cycle at 500-700 km.

The 350 km row: Vallado's Table 8-4 prints rho0 = 9.158e-12 kg/m^3, a transposition of
9.518e-12. The printed value breaks continuity with the 300 km band, whose top gives
2.418e-11 exp(-50/53.628) = 9.52e-12, while every other band meets the next within 8 %
(tested); GMAT's ``ExponentialAtmosphere`` (NASA GSFC) carries the same correction
("corrected from Vallado's value of 9.158e-12"). This table uses 9.518e-12.

Units: altitudes and scale heights in km, densities in kg/m^3.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

#: Exponential atmosphere rows: (base altitude h0 [km], density at base rho0 [kg/m^3],
#: scale height H [km]), Vallado 4th ed. Table 8-4, 350 km corrected (module docstring).
EXPONENTIAL_ATMOSPHERE: tuple[tuple[float, float, float], ...] = (
    (0.0, 1.225, 7.249),
    (25.0, 3.899e-2, 6.349),
    (30.0, 1.774e-2, 6.682),
    (40.0, 3.972e-3, 7.554),
    (50.0, 1.057e-3, 8.382),
    (60.0, 3.206e-4, 7.714),
    (70.0, 8.770e-5, 6.549),
    (80.0, 1.905e-5, 5.799),
    (90.0, 3.396e-6, 5.382),
    (100.0, 5.297e-7, 5.877),
    (110.0, 9.661e-8, 7.263),
    (120.0, 2.438e-8, 9.473),
    (130.0, 8.484e-9, 12.636),
    (140.0, 3.845e-9, 16.149),
    (150.0, 2.070e-9, 22.523),
    (180.0, 5.464e-10, 29.740),
    (200.0, 2.789e-10, 37.105),
    (250.0, 7.248e-11, 45.546),
    (300.0, 2.418e-11, 53.628),
    (350.0, 9.518e-12, 53.298),
    (400.0, 3.725e-12, 58.515),
    (450.0, 1.585e-12, 60.828),
    (500.0, 6.967e-13, 63.822),
    (600.0, 1.454e-13, 71.835),
    (700.0, 3.614e-14, 88.667),
    (800.0, 1.170e-14, 124.64),
    (900.0, 5.245e-15, 181.05),
    (1000.0, 3.019e-15, 268.00),
)

#: The table's columns as plain lists, for scalar code that looks a band up with ``bisect``
#: (the propagator's right-hand side): base altitudes [km], base densities [kg/m^3], scale
#: heights [km].
BASE_ALTITUDE_KM: list[float] = [row[0] for row in EXPONENTIAL_ATMOSPHERE]
BASE_DENSITY_KG_M3: list[float] = [row[1] for row in EXPONENTIAL_ATMOSPHERE]
SCALE_HEIGHT_KM: list[float] = [row[2] for row in EXPONENTIAL_ATMOSPHERE]

_BASE = np.asarray(BASE_ALTITUDE_KM)
_RHO0 = np.asarray(BASE_DENSITY_KG_M3)
_SCALE = np.asarray(SCALE_HEIGHT_KM)


# The types of otvplan.core.orbits (ArrayLike in, FloatOrArray out), spelt out here: this
# module sits below orbits in the core's layers and imports nothing from it.
def density(alt_km: npt.ArrayLike) -> float | npt.NDArray[np.float64]:
    """Atmospheric density [kg/m^3] at geometric altitude ``alt_km`` [km]: Vallado's Table 8-4
    with rho = rho0 exp(-(h - h0) / H) in the band below h (see the module docstring).

    Vectorised: an array of altitudes gives an array of densities, a scalar a float.
    """
    h = np.asarray(alt_km, dtype=float)
    k = np.clip(np.searchsorted(_BASE, h, side="right") - 1, 0, _BASE.size - 1)
    rho = _RHO0[k] * np.exp(-(h - _BASE[k]) / _SCALE[k])
    return float(rho) if rho.ndim == 0 else rho


__all__ = [
    "BASE_ALTITUDE_KM",
    "BASE_DENSITY_KG_M3",
    "EXPONENTIAL_ATMOSPHERE",
    "SCALE_HEIGHT_KM",
    "density",
]
