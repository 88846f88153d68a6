#!/usr/bin/env bash
# Records the CIFAR-10 runs of sample_runs/ with the project's own CLI (see README.md here):
#   bash sample_runs/record_cifar10.sh [DATA] [RUN...]
# DATA: CIFAR-10 as a tree with train/ and test/ class folders, or its .tar.gz (default: the
# JPEG copy beside the checkout); each run stores it in its config as given, so resumes find it.
# RUN: points (the single-op and zoo networks, one 1-trial run each), cifar10_random,
# cifar10_hard_ppo, cifar10_soft_ppo; default: all, in that order.
# Each run is resumable: re-running this script continues any run that did not finish, on a
# machine with the same latency fingerprint (the same CPU type; `mnas search --resume` refuses
# another, whose latencies would not compare).
set -euo pipefail
cd "$(dirname "$0")/.."
export GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=4294967296
data=${1:-../shared/data/cifar10-jpeg.tar.gz}
shift || true
mnas() { python -m mnas_core "$@"; }
run() {  # run NAME ARGS...: start the run, or resume it if its file exists
  local name=$1; shift
  if [ -f "sample_runs/$name.db" ]; then
    mnas search --resume "sample_runs/$name.db" --no-progress
  else
    mnas search --out "sample_runs/$name.db" --name "$name" --no-progress "$@"
  fi
}
# The proxy budget is real data's default (mnas_core.fidelity.PROXY); T is MobileNetV2 1.0's
# measured latency on this machine, as for the digits runs.
COMMON=(--dataset "folder:$data" --batch 8 --latency measured --target auto --seed 0)
points() {
  # Table 6's single-op networks, then the zoo at the published widths: each a one-point
  # space (`mnas space --of`), so it is trained and timed exactly as a search's trials.
  for space in sample_runs/spaces/single_op_*.json; do
    run "cifar10_$(basename "$space" .json)" --strategy random --preset soft --space "$space" \
      --trials 1 "${COMMON[@]}"
  done
  local spaces; spaces=$(mktemp -d)
  for base in mobilenet_v2 mnasnet_a1 mnasnet_b1; do
    for w in 0.35 0.5 0.75 1 1.3 1.4; do
      local name=$base; [ "$w" = 1 ] || name=${base}_x$w
      mnas space --of "$name" --json > "$spaces/$name.json"
      run "cifar10_zoo_$name" --strategy random --preset soft --space "$spaces/$name.json" \
        --trials 1 "${COMMON[@]}"
    done
  done
  rm -r "$spaces"
}
runs=("$@")
[ ${#runs[@]} -gt 0 ] || runs=(points cifar10_random cifar10_hard_ppo cifar10_soft_ppo)
for n in "${runs[@]}"; do
  case $n in
    points) points ;;
    cifar10_random) run "$n" --strategy random --preset soft --trials 300 "${COMMON[@]}" ;;
    cifar10_hard_ppo) run "$n" --strategy ppo --preset hard --trials 300 "${COMMON[@]}" ;;
    cifar10_soft_ppo) run "$n" --strategy ppo --preset soft --trials 300 "${COMMON[@]}" ;;
    *) echo "record_cifar10.sh: unknown run $n (points, cifar10_random, cifar10_hard_ppo," \
            "cifar10_soft_ppo)" >&2; exit 2 ;;
  esac
done
