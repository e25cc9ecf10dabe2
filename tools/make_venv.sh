#!/usr/bin/env bash
# Creates .venv at the repository root: Debian's python3 with its system packages (torch 1.13,
# torchvision 0.14, numpy, PIL) plus pinned PyPI packages for the reference scripts in tools/.
# open_clip goes in without its dependencies: they would pull a newer torch into the venv and
# hide Debian's. Idempotent.
#   tools/make_venv.sh            then   .venv/bin/python tools/<script>.py
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for p in python3-venv python3-torch python3-torchvision python3-pil python3-numpy libopenblas0-pthread; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if ((${#need[@]})); then
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
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
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps "open_clip_torch==2.24.0"
.venv/bin/python -c "import torch, open_clip; assert torch.__version__.startswith('1.13'), torch.__version__"
