"""``python -m ltu``: see ``ltu.cli``."""

import sys

from ltu.console import quiet_libraries

quiet_libraries()  # before ltu.cli imports torch, transformers and peft

from ltu.cli import main  # noqa: E402

sys.exit(main())
