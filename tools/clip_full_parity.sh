#!/usr/bin/env bash
# Full-size CLIP parity: writes random-weight ViT-B/32 (open_clip, OpenAI names) and
# ViT-B/16 + text (transformers, Hugging Face names) checkpoints with their reference
# outputs (tools/clip_reference.py --full, about 1 GB, not committed), then runs the
# "[clip-full]" test against them.
#   tools/clip_full_parity.sh [DIR]        (default build/clip-full)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build/clip-full}
tools/make_venv.sh
mkdir -p "$dir"
if [[ ! -f $dir/vit_b16_hf_io.safetensors || ! -f $dir/vit_b32_openai_io.safetensors ]]; then
  .venv/bin/python tools/clip_reference.py --full "$dir"
fi
scripts/setup
cmake --preset release >/dev/null
cmake --build --preset release --target tailor_tests
TAILOR_CLIP_FULL_DIR=$(realpath "$dir") build/release/tests/tailor_tests "[clip-full]" --success --reporter compact |
  grep -E 'image_embeds|text_embeds|passed|failed' | sed 's/^.*with messages*: //' | sort -u
