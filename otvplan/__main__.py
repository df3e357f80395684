"""``python -m otvplan``: the same command line as the ``otvplan`` script."""

import sys

from .cli import main

sys.exit(main())
