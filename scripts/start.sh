#!/usr/bin/env bash
# Set up, then serve the app with the default model (LTU-small) on http://127.0.0.1:7860.
# Extra arguments go to app.py (see python app.py --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1} GRADIO_ANALYTICS_ENABLED=False
exec .venv/bin/python app.py "$@"
