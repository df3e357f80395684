"""``python -m otvplan``: the same command line as the ``otvplan`` script."""

import sys

from otvplan.cli import main

sys.exit(main())
