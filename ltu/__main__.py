"""``python -m ltu``: see ``ltu.cli``."""

import sys

from ltu.cli import main

sys.exit(main())
