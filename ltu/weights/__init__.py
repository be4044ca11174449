"""Where weights come from, kept apart from the LTU model itself.

- ``official``: the released LTU checkpoints' key layout (pure key mapping, no model).
- ``convert``: a released ``.bin`` -> a checkpoint folder (``python -m ltu convert-official``).
- ``packaged``: models whose weights ship inside pip packages (``packaged:NAME`` in a config),
  converted once into a local cache; ``locate`` turns a config's model name into a loadable one.
- ``ct2``: a reader for CTranslate2 ``model.bin`` files (how Whisper base ships) onto transformers.
- ``prepare``: ``python -m ltu.weights.prepare`` converts every packaged model ahead of time.
"""
