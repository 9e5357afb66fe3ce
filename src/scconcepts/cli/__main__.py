import sys

from scconcepts.cli import main

sys.exit(main())
