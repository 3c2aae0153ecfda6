"""`python -m pycnb`: the same as the `pycnb` command."""

import sys

from pycnb.cli import main

sys.exit(main())
