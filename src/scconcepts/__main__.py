"""``python -m scconcepts``: the command line, as the ``scconcepts`` script runs it."""

import sys

from scconcepts.cli import main

sys.exit(main())
