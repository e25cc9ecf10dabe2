#!/usr/bin/env bash
# Every benchmark beside its PyTorch peer, in one run on this machine, at one thread count:
# each peer prints PyTorch's time, tailor's time and the ratio. The figures in
# docs/benchmarks.md come from this script.
#   tools/run_benchmarks.sh [THREADS] [OUT_DIR]          (default 2, build/bench-results)
# The peers need Debian's python3-torch with OpenBLAS (libopenblas0-pthread) and, for CLIP,
# the venv of tools/make_venv.sh; OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are unset for the
# peers so OpenBLAS picks its kernel for this CPU. Each side runs under the OpenMP wait
# policy that is fastest for it, as measured on a 2-vCPU VM: OpenMP's default (active) for
# tailor's Eigen-only programs and for the loss and VL-LTR peers (PyTorch's elementwise ops
# lose 25% when its pool sleeps), passive for the CLIP peer (clip_peer.py sets it: there
# PyTorch's OpenMP pool and OpenBLAS's pthreads starve each other, 2-5x) and for
# tailor_bench_clip_blas, which has the same two pools.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
out=${2:-build/bench-results}
mkdir -p "$out"
scripts/setup
tools/make_venv.sh
cmake --preset release >/dev/null
cmake --build --preset release --target tailor_bench_losses tailor_bench_vlltr tailor_bench_clip tailor_bench_clip_blas
bench=build/release/bench
peer=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=$threads)
# Debian's PyTorch 1.13 dispatches its elementwise kernels at AVX2 unless told otherwise; on
# an AVX-512 CPU its AVX-512 kernels ran the loss peer faster here (docs/benchmarks.md), so
# the peers get them.
if grep -qw avx512f /proc/cpuinfo; then peer+=(ATEN_CPU_CAPABILITY=avx512); fi
lscpu | grep -E 'Model name|^CPU\(s\)' | tee "$out/machine.txt"

run() {  # name, binary, filter, OpenMP wait policy
  OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads OMP_WAIT_POLICY=$4 "$bench/$2" --benchmark_filter="$3" \
    --benchmark_format=json >"$out/$1.json"
}
run losses tailor_bench_losses 'eigen/' active
"${peer[@]}" /usr/bin/python3 tools/loss_peer.py --threads "$threads" "$out/losses.json" | tee "$out/losses.txt"
run vlltr tailor_bench_vlltr 'eigen/' active
"${peer[@]}" /usr/bin/python3 tools/vlltr_peer.py --threads "$threads" "$out/vlltr.json" | tee "$out/vlltr.txt"
for variant in clip clip_blas; do
  policy=active
  [[ $variant == clip_blas ]] && policy=passive  # OpenBLAS's own pthreads run beside the OpenMP pool
  run "$variant" "tailor_bench_$variant" '.' "$policy"
  "${peer[@]}" .venv/bin/python tools/clip_peer.py --threads "$threads" "$out/$variant.json" | tee "$out/$variant.txt"
done
