"""``python -m train CONFIG.yaml key=value ...`` (or ``accelerate launch -m train ...``)."""

import sys

from ltu.console import quiet_libraries

quiet_libraries()  # before torch and transformers load: library warnings off, the stage's own progress stays

from train.cli import main  # noqa: E402

sys.exit(main())
