#!/bin/sh
# Checks and measures the CUDA paths on a machine with an NVIDIA GPU, in one run:
#   1. builds spotlab with nvcc for this GPU (build-gpu/, release);
#   2. checks the GPU against the C reference path within the tolerances of gpu-check.c, and
#      measures training throughput (TFLOP/s) against a plain cuBLAS SGEMM measured here, and
#      device-to-host bandwidth;
#   3. measures spotlab-train-cuda's checkpoint write (GB/s) against dd's sequential write with
#      fsync of the same size on the same disk, and the time from SIGTERM to a complete
#      emergency checkpoint, for the large preset;
#   4. checks that a GPU run resumed after kill -9 ends with the same state as one that was not
#      interrupted (every section's checksum), and that spotlab-infer-cuda's results equal the
#      reference path's (1000 prompts x 100 tokens);
#   5. times each phase of a restart of the 1g preset (launch, hello, start, resume, first
#      step), which the testbed's recovery times rest on;
#   6. writes everything, with the device and the date, to docs/gpu-results.md.
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

train_cuda="$build/gpu-workloads/train/spotlab-train-cuda"
train_cpu="$build/gpu-workloads/train/spotlab-train"
infer="$build/gpu-workloads/infer/spotlab-infer"
# same_sections A B: the two checkpoints hold the same bytes in every section (the header's
# section table, bytes 64 to 3647, holds each section's size and XXH3; docs/checkpoints.md).
same_sections() { cmp -s -i 64 -n 3584 "$1" "$2"; }

echo "== resume on the GPU: 300 steps straight against 150, kill -9, resume (small)" | tee -a "$log"
rm -rf "$work/r1" "$work/r2" "$work/r3"
common="--preset small --steps 300 --checkpoint-every 50 --log-every 0"
"$train_cuda" $common --checkpoint-dir "$work/r1" >>"$log" 2>&1 || failed=1
"$train_cuda" $common --checkpoint-dir "$work/r3" >>"$log" 2>&1 || failed=1
"$train_cuda" $common --checkpoint-dir "$work/r2" --hang-at 150 >>"$log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do [ -e "$work/r2/ckpt-000000000150.spck" ] && break; sleep 0.1; done
sleep 0.5
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null || true
"$train_cuda" $common --checkpoint-dir "$work/r2" >>"$log" 2>&1 || failed=1
last=ckpt-000000000300.spck
if same_sections "$work/r1/$last" "$work/r3/$last"; then twice=same; else twice=different; fi
if same_sections "$work/r1/$last" "$work/r2/$last"; then resumed=same; else resumed=different; failed=1; fi
echo "two uninterrupted runs: $twice state; resumed against uninterrupted: $resumed state" | tee -a "$log"
rm -rf "$work/r1" "$work/r2" "$work/r3"

echo "== inference: the reference path against the GPU, 1000 prompts x 100 tokens" | tee -a "$log"
rm -rf "$work/model" "$work"/q-*.db*
"$train_cpu" --steps 3000 --checkpoint-dir "$work/model" --log-every 0 >>"$log" 2>&1 || failed=1
for dev in cpu cuda; do
    "$infer" init "$work/q-$dev.db" --prompts 1000 --seed 42 >>"$log" 2>&1 || failed=1
    "$build/gpu-workloads/infer/spotlab-infer-cuda" work "$work/q-$dev.db" --model "$work/model" \
        --device $dev --worker $dev --tokens 100 >>"$log" 2>&1 || failed=1
    "$infer" results "$work/q-$dev.db" >"$work/results-$dev.txt" || failed=1
done
infer_total=$(wc -l <"$work/results-cpu.txt")
infer_same=$(awk 'NR == FNR { a[FNR] = $0; next } a[FNR] == $0 { n++ } END { print n + 0 }' \
    "$work/results-cpu.txt" "$work/results-cuda.txt")
# Reported, not required: a logit within rounding of another may pick the other token on the
# GPU (docs/inference.md).
echo "identical results: $infer_same of $infer_total" | tee -a "$log"
rm -rf "$work/model" "$work"/q-*.db* "$work"/results-*.txt

echo "== a restart's phases, 1g: seconds from the launch to hello, start, resume, first step" | tee -a "$log"
rm -rf "$work/anat"
"$train_cuda" --preset 1g --steps 60 --checkpoint-every 50 --checkpoint-dir "$work/anat" \
    --log-every 0 >>"$log" 2>&1 || failed=1
: >"$work/phases.txt"
for _ in 1 2 3; do
    rm -f "$work/anat/ckpt-000000000060.spck"
    t0=$(date +%s.%N)
    SPOTLAB_PROGRESS_FD=3 "$train_cuda" --checkpoint-dir "$work/anat" --log-every 0 \
        3>"$work/progress.txt" >>"$log" 2>&1 || failed=1
    # The first line of each event, its time less the launch; and the restore's own seconds.
    awk -v t0="$t0" -F'"time":' '
        /"event":"(hello|start|resume|step)"/ {
            match($0, /"event":"[a-z]+"/); e = substr($0, RSTART + 9, RLENGTH - 10)
            if (e in seen) next; seen[e] = 1; split($2, t, ","); printf "%s %.3f ", e, t[1] - t0
            if (e == "resume") { match($0, /"seconds":[0-9.e-]+/); printf "restore %s ", substr($0, RSTART + 10, RLENGTH - 10) }
        }
        END { print "" }' "$work/progress.txt" | tee -a "$work/phases.txt"
done
phases=$(sort -t' ' -k10,10n "$work/phases.txt" | sed -n 2p)
rm -rf "$work/anat" "$work/progress.txt"
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
    echo "| resumed after kill -9 against uninterrupted (small, 300 steps) | $resumed state (two uninterrupted runs: $twice) |"
    echo "| inference, results identical to the reference path | $infer_same of $infer_total |"
    echo "| a restart of 1g, seconds from the launch (median of 3 by first step) | $phases |"
    echo
    echo "The full output:"
    echo
    echo '```'
    cat "$log"
    echo '```'
} >docs/gpu-results.md
echo "check-gpu: wrote docs/gpu-results.md"
exit $failed
