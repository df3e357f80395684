"""Build otvplan/core/reentry_lifetime.npz: the orbit-lifetime table of the disposal planner.

The averaged drag decay (otvplan.core.lifetime) is linear in 1/B, B = m / (Cd A) the
ballistic coefficient: da/dt and de/dt both scale as 1/B, so an orbit's lifetime scales as B
and the perigee that decays within T with coefficient B is the one that decays within T / B
with B = 1 kg/m^2. One table of ln(lifetime) at B = 1 over (apogee, perigee) altitudes
therefore serves every tug (otvplan.core.lifetime.reentry_table_values, the same vectorised
lifetimes as the direct computation); otvplan.core.lifetime.reentry_perigees inverts it, to
within the tolerance that tests/test_lifetime.py measures on random points.

Run from the repository root (a few minutes on one core):

    python tools/make_reentry_table.py

The table records the atmosphere it was built with; otvplan.core.lifetime uses it only while
that is still the package's (otherwise it computes directly), and the tests fail until it is
rebuilt.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from otvplan.core import lifetime  # noqa: E402


def main() -> int:
    t0 = time.perf_counter()
    table = lifetime.reentry_table_values()
    path = ROOT / "otvplan" / "core" / lifetime.REENTRY_TABLE_FILE
    np.savez_compressed(
        path,
        alt_km=lifetime.REENTRY_TABLE_ALT_KM,
        log_lifetime_s=table,
        fingerprint=lifetime.reentry_fingerprint(),
    )
    print(f"wrote {path} ({path.stat().st_size:,} bytes) in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
