"""``python -m train CONFIG.yaml key=value ...`` (or ``accelerate launch -m train ...``)."""

import sys

from train.cli import main

sys.exit(main())
