"""``python -m o2nc`` is the ``o2nc`` command line."""
import sys

from o2nc.cli import main

sys.exit(main())
