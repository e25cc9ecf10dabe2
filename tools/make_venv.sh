#!/usr/bin/env bash
# Creates .venv at the repository root: Debian's python3 with its system packages (torch 1.13,
# numpy) plus pinned PyPI packages for the reference scripts in tools/. Idempotent.
#   tools/make_venv.sh            then   .venv/bin/python tools/<script>.py
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -x .venv/bin/python ]]; then
  /usr/bin/python3 -m venv --system-site-packages .venv
fi
# Versions that work with Debian bookworm's torch 1.13.1 and numpy 1.24 (Python 3.11).
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
  "transformers==4.38.2" \
  "tokenizers==0.15.2" \
  "huggingface-hub==0.21.4" \
  "safetensors==0.4.5" \
  "regex==2023.12.25" \
  "ftfy==6.1.3" \
  "wcwidth==0.2.13"
