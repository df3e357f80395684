"""Trade studies: a base scenario, axes that vary it, the cases run on local processes or a
Dask cluster, and an append-only results store. The public API (``load``, ``loads``,
``sweep``, ``Study``, ...) is :mod:`otvplan.study.run`'s, re-exported here."""

from otvplan.study.run import *  # noqa: F403 - the package's public API
from otvplan.study.run import __all__  # noqa: F401
