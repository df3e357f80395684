"""The compiled integrator: Hairer's DOP853 with SciPy's settings and the right-hand side,
compiled by numba when it is available.

:func:`_dop853_kernel` is the stepper of SciPy's ``ode("dop853")`` (Hairer, Norsett and Wanner,
*Solving Ordinary Differential Equations I*, 2nd ed., sec. II.10; dop853.f with SciPy's
defaults and its C translation's rule for a rejected step) and :func:`_rhs_kernel` is
:func:`otvplan.flight.propagation.make_rhs`'s right-hand side, the same operations in the same
order, on plain arrays: the force model and thrust arc come as the parameter vector that
:func:`otvplan.flight.propagation._kernel_params` builds, the atmosphere's layers as arrays.
:func:`_compiled_kernel` compiles them together (numba, cached on disk), so that
``propagate(..., backend="compiled")`` takes the same steps and gives the same states as
``backend="ode"`` without a Python call per evaluation; it returns None without numba or when
:data:`ACCELERATE_ENV` turns the backend off, and :func:`otvplan.flight.propagation.propagate`
then runs SciPy's ``ode``. This module does not import :mod:`otvplan.flight.propagation`.

Units: km, km/s, s, kg.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from otvplan.core.atmosphere import BASE_ALTITUDE_KM, BASE_DENSITY_KG_M3, SCALE_HEIGHT_KM

# Hairer's DOP853 tableau (dop853.f, DP86CO), 0-based stages: 0-11 the step's twelve, 12 the
# derivative at the new point, 13-15 the three extra stages of the dense output. The
# right-hand side does not depend on time, so the nodes c_i are not needed.
_A = np.zeros((16, 16))
for (_i, _j), _v in {
    (1, 0): 5.26001519587677318785587544488e-2,
    (2, 0): 1.97250569845378994544595329183e-2,
    (2, 1): 5.91751709536136983633785987549e-2,
    (3, 0): 2.95875854768068491816892993775e-2,
    (3, 2): 8.87627564304205475450678981324e-2,
    (4, 0): 2.41365134159266685502369798665e-1,
    (4, 2): -8.84549479328286085344864962717e-1,
    (4, 3): 9.24834003261792003115737966543e-1,
    (5, 0): 3.7037037037037037037037037037e-2,
    (5, 3): 1.70828608729473871279604482173e-1,
    (5, 4): 1.25467687566822425016691814123e-1,
    (6, 0): 3.7109375e-2,
    (6, 3): 1.70252211019544039314978060272e-1,
    (6, 4): 6.02165389804559606850219397283e-2,
    (6, 5): -1.7578125e-2,
    (7, 0): 3.70920001185047927108779319836e-2,
    (7, 3): 1.70383925712239993810214054705e-1,
    (7, 4): 1.07262030446373284651809199168e-1,
    (7, 5): -1.53194377486244017527936158236e-2,
    (7, 6): 8.27378916381402288758473766002e-3,
    (8, 0): 6.24110958716075717114429577812e-1,
    (8, 3): -3.36089262944694129406857109825e0,
    (8, 4): -8.68219346841726006818189891453e-1,
    (8, 5): 2.75920996994467083049415600797e1,
    (8, 6): 2.01540675504778934086186788979e1,
    (8, 7): -4.34898841810699588477366255144e1,
    (9, 0): 4.77662536438264365890433908527e-1,
    (9, 3): -2.48811461997166764192642586468e0,
    (9, 4): -5.90290826836842996371446475743e-1,
    (9, 5): 2.12300514481811942347288949897e1,
    (9, 6): 1.52792336328824235832596922938e1,
    (9, 7): -3.32882109689848629194453265587e1,
    (9, 8): -2.03312017085086261358222928593e-2,
    (10, 0): -9.3714243008598732571704021658e-1,
    (10, 3): 5.18637242884406370830023853209e0,
    (10, 4): 1.09143734899672957818500254654e0,
    (10, 5): -8.14978701074692612513997267357e0,
    (10, 6): -1.85200656599969598641566180701e1,
    (10, 7): 2.27394870993505042818970056734e1,
    (10, 8): 2.49360555267965238987089396762e0,
    (10, 9): -3.0467644718982195003823669022e0,
    (11, 0): 2.27331014751653820792359768449e0,
    (11, 3): -1.05344954667372501984066689879e1,
    (11, 4): -2.00087205822486249909675718444e0,
    (11, 5): -1.79589318631187989172765950534e1,
    (11, 6): 2.79488845294199600508499808837e1,
    (11, 7): -2.85899827713502369474065508674e0,
    (11, 8): -8.87285693353062954433549289258e0,
    (11, 9): 1.23605671757943030647266201528e1,
    (11, 10): 6.43392746015763530355970484046e-1,
    (13, 0): 5.61675022830479523392909219681e-2,
    (13, 6): 2.53500210216624811088794765333e-1,
    (13, 7): -2.46239037470802489917441475441e-1,
    (13, 8): -1.24191423263816360469010140626e-1,
    (13, 9): 1.5329179827876569731206322685e-1,
    (13, 10): 8.20105229563468988491666602057e-3,
    (13, 11): 7.56789766054569976138603589584e-3,
    (13, 12): -8.298e-3,
    (14, 0): 3.18346481635021405060768473261e-2,
    (14, 5): 2.83009096723667755288322961402e-2,
    (14, 6): 5.35419883074385676223797384372e-2,
    (14, 7): -5.49237485713909884646569340306e-2,
    (14, 10): -1.08347328697249322858509316994e-4,
    (14, 11): 3.82571090835658412954920192323e-4,
    (14, 12): -3.40465008687404560802977114492e-4,
    (14, 13): 1.41312443674632500278074618366e-1,
    (15, 0): -4.28896301583791923408573538692e-1,
    (15, 5): -4.69762141536116384314449447206e0,
    (15, 6): 7.68342119606259904184240953878e0,
    (15, 7): 4.06898981839711007970213554331e0,
    (15, 8): 3.56727187455281109270669543021e-1,
    (15, 12): -1.39902416515901462129418009734e-3,
    (15, 13): 2.9475147891527723389556272149e0,
    (15, 14): -9.15095847217987001081870187138e0,
}.items():
    _A[_i, _j] = _v
del _i, _j, _v
# the solution's weights and the two error estimators (stages 0, 5-11), and the bhh weights
# of the third-order one (stages 0, 8, 11)
_B = np.array(
    [
        5.42937341165687622380535766363e-2,
        4.45031289275240888144113950566e0,
        1.89151789931450038304281599044e0,
        -5.8012039600105847814672114227e0,
        3.1116436695781989440891606237e-1,
        -1.52160949662516078556178806805e-1,
        2.01365400804030348374776537501e-1,
        4.47106157277725905176885569043e-2,
    ]
)
_ER = np.array(
    [
        0.1312004499419488073250102996e-01,
        -0.1225156446376204440720569753e01,
        -0.4957589496572501915214079952e00,
        0.1664377182454986536961530415e01,
        -0.3503288487499736816886487290e00,
        0.3341791187130174790297318841e00,
        0.8192320648511571246570742613e-01,
        -0.2235530786388629525884427845e-01,
    ]
)
_BHH = np.array(
    [
        0.244094488188976377952755905512e00,
        0.733846688281611857341361741547e00,
        0.220588235294117647058823529412e-01,
    ]
)
# dense output (rows d4-d7 of dop853.f), columns: stages 0, 5-11, then 12-15
_D = np.array(
    [
        [
            -0.84289382761090128651353491142e01,
            0.56671495351937776962531783590e00,
            -0.30689499459498916912797304727e01,
            0.23846676565120698287728149680e01,
            0.21170345824450282767155149946e01,
            -0.87139158377797299206789907490e00,
            0.22404374302607882758541771650e01,
            0.63157877876946881815570249290e00,
            -0.88990336451333310820698117400e-01,
            0.18148505520854727256656404962e02,
            -0.91946323924783554000451984436e01,
            -0.44360363875948939664310572000e01,
        ],
        [
            0.10427508642579134603413151009e02,
            0.24228349177525818288430175319e03,
            0.16520045171727028198505394887e03,
            -0.37454675472269020279518312152e03,
            -0.22113666853125306036270938578e02,
            0.77334326684722638389603898808e01,
            -0.30674084731089398182061213626e02,
            -0.93321305264302278729567221706e01,
            0.15697238121770843886131091075e02,
            -0.31139403219565177677282850411e02,
            -0.93529243588444783865713862664e01,
            0.35816841486394083752465898540e02,
        ],
        [
            0.19985053242002433820987653617e02,
            -0.38703730874935176555105901742e03,
            -0.18917813819516756882830838328e03,
            0.52780815920542364900561016686e03,
            -0.11573902539959630126141871134e02,
            0.68812326946963000169666922661e01,
            -0.10006050966910838403183860980e01,
            0.77771377980534432092869265740e00,
            -0.27782057523535084065932004339e01,
            -0.60196695231264120758267380846e02,
            0.84320405506677161018159903784e02,
            0.11992291136182789328035130030e02,
        ],
        [
            -0.25693933462703749003312586129e02,
            -0.15418974869023643374053993627e03,
            -0.23152937917604549567536039109e03,
            0.35763911791061412378285349910e03,
            0.93405324183624310003907691704e02,
            -0.37458323136451633156875139351e02,
            0.10409964950896230045147246184e03,
            0.29840293426660503123344363579e02,
            -0.43533456590011143754432175058e02,
            0.96324553959188282948394950600e02,
            -0.39177261675615439165231486172e02,
            -0.14972683625798562581422125276e03,
        ],
    ]
)
_STEP_STAGES = (0, 5, 6, 7, 8, 9, 10, 11)  # the stages _B, _ER and _D[:, :8] weigh


def _rhs_kernel(y, p, bases, rhos, scales, out):
    """:func:`~otvplan.flight.propagation.make_rhs`'s right-hand side for the compiled
    integrator, the same operations in the same order: ``p`` holds the force model and arc
    (:func:`~otvplan.flight.propagation._kernel_params`), the atmosphere's layers come as
    arrays; writes dy/dt into ``out``."""
    x, yy, z, vx, vy, vz, m = y[0], y[1], y[2], y[3], y[4], y[5], y[6]
    mu, zonal = p[0], p[2]
    r2 = x * x + yy * yy + z * z
    rn = math.sqrt(r2)
    k = mu / (r2 * rn)
    ax, ay, az = -k * x, -k * yy, -k * z
    if zonal != 0.0:
        s = z / rn
        s2 = s * s
        f = p[3] / (r2 * r2 * rn)
        g = f * (1.0 - 5.0 * s2)
        ax -= g * x
        ay -= g * yy
        az -= f * z * (3.0 - 5.0 * s2)
        if zonal >= 3.0:
            f = p[4] / (r2 * r2 * r2)
            g = f * (3.0 * s - 7.0 * s2 * s)
            ax -= g * x
            ay -= g * yy
            az -= f * rn * (6.0 * s2 - 7.0 * s2 * s2 - 0.6)
            if zonal >= 4.0:
                f = p[5] / (r2 * r2 * r2 * rn)
                g = f * (1.0 - 14.0 * s2 + 21.0 * s2 * s2)
                ax += g * x
                ay += g * yy
                az += f * z * (5.0 - 70.0 / 3.0 * s2 + 21.0 * s2 * s2)
    if p[6] != 0.0:
        h = rn - p[1]
        i = np.searchsorted(bases, h, side="right") - 1
        if i < 0:
            i = 0
        elif i >= bases.size:
            i = bases.size - 1
        rho = rhos[i] * math.exp(-(h - bases[i]) / scales[i])
        w_e = p[8]
        ux, uy = vx + w_e * yy, vy - w_e * x
        vr = math.sqrt(ux * ux + uy * uy + vz * vz)
        c = p[7] * rho * vr / m
        ax -= c * ux
        ay -= c * uy
        az -= c * vz
    mdot = 0.0
    if p[9] != 0.0:
        mdot = p[11]
        a = p[10] / m
        vn = math.sqrt(vx * vx + vy * vy + vz * vz)
        tx, ty, tz = vx / vn, vy / vn, vz / vn
        vs0, vc0 = p[14], p[15]
        if p[18] != 0.0:
            a = a if vc0 >= 0.0 else -a
            ax += a * tx
            ay += a * ty
            az += a * tz
        else:
            cu, su = p[16], p[17]
            hx, hy, hz = yy * vz - z * vy, z * vx - x * vz, x * vy - yy * vx
            hn = math.sqrt(hx * hx + hy * hy + hz * hz)
            wx, wy, wz = hx / hn, hy / hn, hz / hn
            nn = math.sqrt(hx * hx + hy * hy)
            if nn > 0.0:
                nx, ny = -hy / nn, hx / nn
            else:
                nx, ny = 1.0, 0.0
            qx, qy, qz = -wz * ny, wz * nx, wx * ny - wy * nx
            along = x * (cu * nx + su * qx) + yy * (cu * ny + su * qy) + z * (su * qz)
            spent = p[12] * math.log(p[13] / m)
            beta = math.atan2(vs0, vc0 - spent)
            at = a * math.cos(beta)
            aw = a * math.sin(beta) if along >= 0.0 else -a * math.sin(beta)
            ax += at * tx + aw * wx
            ay += at * ty + aw * wy
            az += at * tz + aw * wz
    out[0] = vx
    out[1] = vy
    out[2] = vz
    out[3] = ax
    out[4] = ay
    out[5] = az
    out[6] = mdot


def _stage(y, h, k, row, a, out):
    """out = y + h * (sum of a[row, j] k[j] over the stages before ``row``), summed in stage
    order as dop853.f does (stage 1: (h a21) k1)."""
    n = y.size
    for c in range(n):
        if row == 1:
            out[c] = y[c] + h * a[1, 0] * k[0, c]
            continue
        s = 0.0
        for j in range(row):
            if a[row, j] != 0.0:
                s += a[row, j] * k[j, c]
        out[c] = y[c] + h * s


def _dop853_kernel(t0, y0, t1, rtol, atol, p, bases, rhos, scales, dense, nmax):
    """Hairer's DOP853 (dop853.f: DOP853, DP86CO, HINIT) from ``t0`` to ``t1`` with the
    defaults SciPy's ``ode("dop853")`` gives it (safety 0.9, step ratio 0.3..6, beta 0, no
    maximal step, stiffness test every 1000 steps) and a tolerance per component (``atol``),
    so that with equal components it takes the same steps as ``backend="ode"`` (SciPy's C
    translation, whose rule for a rejected step it follows).

    Returns ``(status, y, nfcn, told, hs, cont)``: status 1 on success (-2 too many steps,
    -3 step too small, -4 stiff), the state at ``t1``, the function evaluations, and with
    ``dense`` each accepted step's start, length and the 8 dense output coefficients of every
    component (CONTD8)."""
    n = y0.size
    a, b, er, bhh, dd = _A, _B, _ER, _BHH, _D
    st = np.array(_STEP_STAGES)
    k = np.zeros((16, n))
    y = y0.copy()
    y1 = np.zeros(n)
    ynew = np.zeros(n)
    bsum = np.zeros(n)
    cap = 64 if dense else 1
    told = np.zeros(cap)
    hs = np.zeros(cap)
    cont = np.zeros((cap, 8, n))
    nd = 0
    x = t0
    xend = t1
    posneg = 1.0 if xend - x >= 0.0 else -1.0
    hmax = abs(xend - x)
    uround, safe, facc1, facc2, expo1 = 2.3e-16, 0.9, 1.0 / 0.3, 1.0 / 6.0, 0.125
    nstiff = 1000
    _rhs_kernel(y, p, bases, rhos, scales, k[0])
    # HINIT: the initial step
    dnf = 0.0
    dny = 0.0
    for c in range(n):
        sk = atol[c] + rtol * abs(y[c])
        dnf += (k[0, c] / sk) ** 2
        dny += (y[c] / sk) ** 2
    if dnf <= 1e-10 or dny <= 1e-10:
        h = 1.0e-6
    else:
        h = math.sqrt(dny / dnf) * 0.01
    h = min(h, hmax)
    h = abs(h) * posneg
    for c in range(n):
        y1[c] = y[c] + h * k[0, c]
    _rhs_kernel(y1, p, bases, rhos, scales, k[1])
    der2 = 0.0
    for c in range(n):
        sk = atol[c] + rtol * abs(y[c])
        der2 += ((k[1, c] - k[0, c]) / sk) ** 2
    der2 = math.sqrt(der2) / h
    der12 = max(abs(der2), math.sqrt(dnf))
    if der12 <= 1e-15:
        h1 = max(1.0e-6, abs(h) * 1.0e-3)
    else:
        h1 = (0.01 / der12) ** (1.0 / 8)
    h = min(100 * abs(h), h1, hmax) * posneg
    nfcn = 2
    nstep = 0
    naccpt = 0
    iasti = 0
    nonsti = 0
    reject = False
    last = False
    while True:
        if nstep > nmax:
            return -2, y, nfcn, told[:nd], hs[:nd], cont[:nd]
        if 0.1 * abs(h) <= abs(x) * uround:
            return -3, y, nfcn, told[:nd], hs[:nd], cont[:nd]
        if (x + 1.01 * h - xend) * posneg > 0.0:
            h = xend - x
            last = True
        nstep += 1
        for row in range(1, 12):
            _stage(y, h, k, row, a, y1)
            _rhs_kernel(y1, p, bases, rhos, scales, k[row])
        xph = x + h
        nfcn += 11
        for c in range(n):
            s = 0.0
            for j in range(8):
                s += b[j] * k[st[j], c]
            bsum[c] = s
            ynew[c] = y[c] + h * s
        err = 0.0
        err2 = 0.0
        for c in range(n):
            sk = atol[c] + rtol * max(abs(y[c]), abs(ynew[c]))
            erri = bsum[c] - bhh[0] * k[0, c] - bhh[1] * k[8, c] - bhh[2] * k[11, c]
            err2 += (erri / sk) ** 2
            erri = 0.0
            for j in range(8):
                erri += er[j] * k[st[j], c]
            err += (erri / sk) ** 2
        deno = err + 0.01 * err2
        if deno <= 0.0:
            deno = 1.0
        err = abs(h) * err * math.sqrt(1.0 / (n * deno))
        fac11 = err**expo1
        fac = max(facc2, min(facc1, fac11 / safe))
        hnew = h / fac
        if err <= 1.0:
            naccpt += 1
            _rhs_kernel(ynew, p, bases, rhos, scales, k[12])
            nfcn += 1
            if naccpt % nstiff == 0 or iasti > 0:
                stnum = 0.0
                stden = 0.0
                for c in range(n):
                    stnum += (k[12, c] - k[11, c]) ** 2
                    stden += (ynew[c] - y1[c]) ** 2
                if stden > 0.0 and abs(h) * math.sqrt(stnum / stden) > 6.1:
                    nonsti = 0
                    iasti += 1
                    if iasti == 15:
                        return -4, y, nfcn, told[:nd], hs[:nd], cont[:nd]
                else:
                    nonsti += 1
                    if nonsti == 6:
                        iasti = 0
            if dense:
                if nd == cap:
                    cap *= 2
                    told = np.concatenate((told, np.zeros(cap - nd)))
                    hs = np.concatenate((hs, np.zeros(cap - nd)))
                    grown = np.zeros((cap, 8, n))
                    grown[:nd] = cont
                    cont = grown
                for row in range(13, 16):
                    _stage(y, h, k, row, a, y1)
                    _rhs_kernel(y1, p, bases, rhos, scales, k[row])
                nfcn += 3
                for c in range(n):
                    ydiff = ynew[c] - y[c]
                    bspl = h * k[0, c] - ydiff
                    cont[nd, 0, c] = y[c]
                    cont[nd, 1, c] = ydiff
                    cont[nd, 2, c] = bspl
                    cont[nd, 3, c] = ydiff - h * k[12, c] - bspl
                    for r in range(4):
                        s = 0.0
                        for j in range(8):
                            s += dd[r, j] * k[st[j], c]
                        cont[nd, 4 + r, c] = h * (
                            s
                            + dd[r, 8] * k[12, c]
                            + dd[r, 9] * k[13, c]
                            + dd[r, 10] * k[14, c]
                            + dd[r, 11] * k[15, c]
                        )
                told[nd] = x
                hs[nd] = h
                nd += 1
            for c in range(n):
                k[0, c] = k[12, c]
                y[c] = ynew[c]
            x = xph
            if last:
                return 1, y, nfcn, told[:nd], hs[:nd], cont[:nd]
            if abs(hnew) > hmax:
                hnew = posneg * hmax
            if reject:
                hnew = posneg * min(abs(hnew), abs(h))
            reject = False
        else:
            # SciPy's C DOP853 (the "ode" backend since SciPy 1.15) cuts a rejected step by
            # the smallest ratio, 0.3, where dop853.f takes h / min(facc1, fac11 / safe):
            # taken over so that the two backends take the same steps.
            hnew = h / facc1
            reject = True
            last = False
        h = hnew


_KERNEL = None


#: Environment variable that turns the compiled backend off (``0``, ``off``, ``no``,
#: ``false``): ``backend="compiled"`` then runs SciPy's ``ode``, the pure path. The test
#: suite sets it (tests/conftest.py), so the pure path is the one CI runs by default; the
#: tests of the compiled backend turn it back on.
ACCELERATE_ENV = "OTVPLAN_ACCELERATE"


def accelerated() -> bool:
    """Whether ``backend="compiled"`` may use numba (see :data:`ACCELERATE_ENV`)."""
    import os

    return os.environ.get(ACCELERATE_ENV, "1").strip().lower() not in ("0", "off", "no", "false")


def _compiled_kernel():
    """The compiled :func:`_dop853_kernel` (numba, cached on disk), or None without numba or
    when :func:`accelerated` says no."""
    global _KERNEL, _rhs_kernel, _stage
    if not accelerated():
        return None
    if _KERNEL is None:
        try:
            from numba import njit
        except ImportError:  # pragma: no cover - numba comes with boinor
            _KERNEL = False
        else:
            _rhs_kernel = njit(cache=True)(_rhs_kernel)
            _stage = njit(cache=True)(_stage)
            _KERNEL = njit(cache=True)(_dop853_kernel)
    return _KERNEL or None


#: The exponential atmosphere's layers (base altitudes, base densities, scale heights) as
#: :func:`_rhs_kernel` reads them.
_LAYERS = (
    np.asarray(BASE_ALTITUDE_KM, float),
    np.asarray(BASE_DENSITY_KG_M3, float),
    np.asarray(SCALE_HEIGHT_KM, float),
)


def _dense_solution(told: np.ndarray, hs: np.ndarray, cont: np.ndarray) -> Callable:
    """``sol(t)`` of the compiled integrator's steps: DOP853's 7th-order interpolant (CONTD8),
    ``(7,)`` for a scalar ``t``, ``(7, n)`` for ``n`` times."""
    sign = 1.0 if hs.size == 0 or hs[0] >= 0.0 else -1.0
    ends = sign * (told + hs)

    def sol(t):
        tt = np.atleast_1d(np.asarray(t, float))
        i = np.clip(np.searchsorted(ends, sign * tt, side="left"), 0, hs.size - 1)
        s = ((tt - told[i]) / hs[i])[:, None]
        s1 = 1.0 - s
        c = cont[i]
        conpar = c[:, 4] + s * (c[:, 5] + s1 * (c[:, 6] + s * c[:, 7]))
        val = c[:, 0] + s * (c[:, 1] + s1 * (c[:, 2] + s * (c[:, 3] + s1 * conpar)))
        return val.T if np.ndim(t) else val[0]

    return sol


def _propagate_compiled(
    kernel: Callable,
    t0_s: float,
    y0: np.ndarray,
    t1_s: float,
    p: np.ndarray,
    dense: bool,
    rtol: float,
    atol: np.ndarray,
    short_step_s: float,
) -> tuple[np.ndarray, int, Callable | None]:
    """One segment (``t1_s != t0_s``) with the compiled integrator ``kernel`` and the
    parameters ``p`` of :func:`_rhs_kernel`: one Taylor step for an interval shorter than
    ``short_step_s`` (without dense output), else DOP853 with the tolerances ``rtol`` and
    ``atol`` (one per component). Returns the state at ``t1_s``, the function evaluations and
    the dense output (or None)."""
    if abs(t1_s - t0_s) < short_step_s and not dense:
        dt = t1_s - t0_s
        f = np.zeros(7)
        _rhs_kernel(y0, p, *_LAYERS, f)
        y1 = y0 + f * dt
        y1[:3] += 0.5 * f[3:6] * dt * dt
        return y1, 1, None
    status, y1, nfev, told, hs, cont = kernel(t0_s, y0, t1_s, rtol, atol, p, *_LAYERS, dense, 10**9)
    if status != 1:
        raise RuntimeError(
            f"integration failed between t = {t0_s:.1f} s and {t1_s:.1f} s (DOP853 status {status})"
        )
    return y1, int(nfev), _dense_solution(told, hs, cont) if dense else None


__all__ = ["ACCELERATE_ENV", "accelerated"]
