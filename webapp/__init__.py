"""The web app's UI layer (Gradio): the page, its handlers, the clip picture, serving options.

The model code in ``ltu`` never imports this package or Gradio. ``app.py`` loads a model
and calls ``webapp.ui.build_app`` and ``webapp.ui.launch``; ``python -m ltu serve --page``
mounts the same page on its FastAPI app (``webapp.mount``), importing it only then.
"""

import os

# Before Gradio is imported anywhere: it sends no usage reports (set it to True to allow them).
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
