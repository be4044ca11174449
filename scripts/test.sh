#!/usr/bin/env bash
# Set up, then run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test-deps
export HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
set +e
.venv/bin/python -m pytest -q -p no:cacheprovider tests "$@"
code=$?
set -e
if [ "$code" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$code"
