#!/bin/sh
# Checks and measures the CUDA paths on a machine with an NVIDIA GPU, in one run:
#   1. builds spotlab with nvcc for this GPU (build-gpu/, release);
#   2. checks the GPU against the C reference path within the tolerances of gpu-check.c, and
#      measures training throughput (TFLOP/s) against a plain cuBLAS SGEMM measured here, and
#      device-to-host bandwidth;
#   3. measures spotlab-train-cuda's checkpoint write (GB/s) against dd's sequential write with
#      fsync of the same size on the same disk, and the time from SIGTERM to a complete
#      emergency checkpoint, for the large preset;
#   4. writes everything, with the device and the date, to docs/gpu-results.md.
#
# Usage: gpu-workloads/check-gpu.sh [--preset NAME] [--runs N] [--no-build]
#   --no-build  use build-gpu/ as it is (built elsewhere for this GPU, e.g. where the build
#               dependencies cannot be installed)
# Environment: SPOTLAB_GPU_WORKDIR  where checkpoints and the dd file go (default build-gpu/work;
#              pick the disk the checkpoints would live on in production).
# Exit status: 0 all checks passed, 1 a check failed, 77 no NVIDIA GPU here (nothing was run).
set -eu
export LC_ALL=C
cd "$(dirname "$0")/.."

preset=large
runs=3
build_it=1
while [ $# -gt 0 ]; do
    case "$1" in
    --preset) preset=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --no-build) build_it=0; shift ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "check-gpu: unknown argument '$1'" >&2; exit 2 ;;
    esac
done

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
    echo "check-gpu: no NVIDIA GPU here (nvidia-smi -L failed): nothing checked" >&2
    exit 77
fi
[ -x /usr/local/cuda/bin/nvcc ] && PATH="$PATH:/usr/local/cuda/bin"

gpu=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)
cap=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d '. ')
build=build-gpu
if [ $build_it -eq 1 ]; then
    if [ ! -f "$build/build.ninja" ]; then
        meson setup "$build" -Dbuildtype=release -Dcuda=enabled -Dgpu_arch="sm_$cap" >/dev/null
    fi
    meson compile -C "$build" >/dev/null
fi
work=${SPOTLAB_GPU_WORKDIR:-$build/work}
mkdir -p "$work"
log="$work/check-gpu.log"
: >"$log"
failed=0

echo "== GPU against the reference path; throughput ($gpu)" | tee -a "$log"
if ! "$build/gpu-workloads/train/spotlab-gpu-check" --preset "$preset" >"$work/gpu-check.out" 2>&1; then
    failed=1
fi
cat "$work/gpu-check.out" | tee -a "$log"
gpu_json=$(tail -n 1 "$work/gpu-check.out")

# jfield JSON OBJECT KEY: a number inside one of the report's objects.
jfield() { echo "$1" | sed -n "s/.*\"$2\":{[^}]*\"$3\":\([0-9.e+-]*\).*/\1/p"; }

echo "== SIGTERM to a complete emergency checkpoint, and dd of the same size after each run: spotlab-train-cuda --preset $preset" | tee -a "$log"
if ! "$build/tests/bench-notice" --runs "$runs" --after-steps 3 --dd --dir "$work" -- \
    "$build/gpu-workloads/train/spotlab-train-cuda" --preset "$preset" --steps 1000000 \
    --log-every 0 >"$work/notice.out" 2>&1; then
    failed=1
fi
cat "$work/notice.out" | tee -a "$log"
notice_json=$(tail -n 1 "$work/notice.out")

field() { echo "$1" | sed -n "s/.*\"$2\": *\\([0-9.e+-]*\\).*/\\1/p"; }
ckpt_gbps=$(field "$notice_json" checkpoint_write_gbps)
d2h_gbps=$(jfield "$gpu_json" d2h best_gbps)
dd_gbps=$(field "$notice_json" dd_gbps)
ratio=$(field "$notice_json" checkpoint_over_dd)

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
{
    echo "# GPU results"
    echo
    echo "Measured by \`gpu-workloads/check-gpu.sh --preset $preset --runs $runs\` on"
    echo "$(date -u +%Y-%m-%d), commit $commit."
    echo
    echo "- Device: $gpu (sm_$cap)"
    echo "- Checkpoint disk: \`$work\`"
    echo
    echo "| figure | value |"
    echo "|---|---|"
    echo "| GPU against the reference path | $( [ $failed -eq 0 ] && echo "within tolerance" || echo "**FAILED**" ) |"
    echo "| training throughput, TFLOP/s | $(jfield "$gpu_json" train tflops) |"
    echo "| plain cuBLAS SGEMM of the same shape, TFLOP/s | $(jfield "$gpu_json" sgemm tflops) (8192^3: $(jfield "$gpu_json" sgemm square_8192_tflops)) |"
    echo "| training as a fraction of that SGEMM | $(jfield "$gpu_json" sgemm train_over_sgemm) |"
    echo "| device-to-host (pinned), GB/s | $d2h_gbps |"
    echo "| dd sequential write with fsync, GB/s (median) | $dd_gbps |"
    echo "| checkpoint write, GB/s (median) | $ckpt_gbps (median ratio to dd: $ratio) |"
    echo "| checkpoint size, bytes | $(field "$notice_json" checkpoint_bytes) |"
    echo "| SIGTERM to notice seen, ms (median) | $(field "$notice_json" reaction_ms) |"
    echo "| SIGTERM to complete checkpoint, ms (median) | $(field "$notice_json" sigterm_to_checkpoint_ms) |"
    echo
    echo "The full output:"
    echo
    echo '```'
    cat "$log"
    echo '```'
} >docs/gpu-results.md
echo "check-gpu: wrote docs/gpu-results.md"
exit $failed
