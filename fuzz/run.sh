#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan + leak checks) and runs each for a bounded
# time on a copy of its seed corpus. Fails on any crash, leak, timeout or sanitizer report.
#   fuzz/run.sh [SECONDS per target, default 60]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
cxx=${CLANGXX:-$(command -v clang++ || command -v clang++-14)}
out=build/fuzz
mkdir -p "$out"

flags=(-std=c++20 -O1 -g -fno-omit-frame-pointer -Iinclude
       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)
# Two targets build at once (two cores); each is one translation unit.
"$cxx" "${flags[@]}" fuzz/fuzz_safetensors.cpp -o "$out/fuzz_safetensors" &
safetensors_build=$!
"$cxx" "${flags[@]}" fuzz/fuzz_tokenizer.cpp -o "$out/fuzz_tokenizer" -lutf8proc -lz
wait "$safetensors_build"
# stb_image from libstb.so, as tailor::image links it; TAILOR_FUZZ_STB_SOURCE=1 compiles its
# implementation into the target instead, so the sanitizers watch stb's decoders too.
if [[ ${TAILOR_FUZZ_STB_SOURCE:-0} == 1 ]]; then
  "$cxx" "${flags[@]}" -DTAILOR_FUZZ_STB_SOURCE $(pkg-config --cflags stb) fuzz/fuzz_image.cpp -o "$out/fuzz_image"
else
  "$cxx" "${flags[@]}" $(pkg-config --cflags stb) fuzz/fuzz_image.cpp -o "$out/fuzz_image" $(pkg-config --libs stb)
fi

vocab=../shared/data/clip/bpe_simple_vocab_16e6.txt.gz
if [[ -f $vocab ]]; then
  export TAILOR_FUZZ_CLIP_VOCAB=$PWD/$vocab
else
  echo "fuzz: $vocab not found; the tokenizer target uses its built-in vocabulary"
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# The three targets run at once, each for SECONDS of wall time: two cores serve three
# processes, so each gets fewer executions than alone, and CI waits one period, not three.
fuzz_target() {
  local target=$1 corpus
  corpus=$(mktemp -d)
  cp fuzz/corpus/"$target"/* "$corpus"/
  if [[ $target == safetensors ]]; then cp tests/fixtures/text_io/*.safetensors "$corpus"/; fi
  if [[ $target == image ]]; then cp tests/fixtures/image/*.{png,jpg,bmp} "$corpus"/; fi
  local result=0
  (cd "$out" && ./fuzz_"$target" "$corpus" -max_total_time="$seconds" -max_len=8192 \
      -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 >"$target.log" 2>&1) || result=$?
  rm -rf "$corpus"
  return $result
}

targets=(safetensors tokenizer image)
declare -A runs
echo "fuzz: ${targets[*]} for ${seconds}s, at once"
for target in "${targets[@]}"; do
  fuzz_target "$target" &
  runs[$target]=$!
done
status=0
for target in "${targets[@]}"; do
  log=$out/$target.log
  if wait "${runs[$target]}"; then
    echo "fuzz: $target"
    grep -E "^(Done|stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)" "$log" || tail -n 5 "$log"
  else
    tail -n 80 "$log"
    echo "fuzz: $target FAILED (log and reproducer in $out)"
    status=1
  fi
done
exit $status
