#!/usr/bin/env bash
# Re-creates the recorded runs of sample_runs/ with the project's own CLI (see README.md here).
# Each run is resumable: re-running this script continues any run that did not finish.
set -euo pipefail
cd "$(dirname "$0")/.."
export GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=4294967296
run() {  # run NAME ARGS...: start the run, or resume it if its file exists
  local name=$1; shift
  if [ -f "sample_runs/$name.db" ]; then
    mnas search --resume "sample_runs/$name.db" --no-progress
  else
    mnas search --out "sample_runs/$name.db" --name "$name" --no-progress "$@"
  fi
}
COMMON=(--trials 300 --batch 8 --latency measured --target auto --seed 0)
run hard_ppo --strategy ppo --preset hard "${COMMON[@]}"
run soft_ppo --strategy ppo --preset soft "${COMMON[@]}"
run random --strategy random --preset soft "${COMMON[@]}"
# The paper's Table 6 in spirit: the MobileNetV2 skeleton with every block forced to one op
# (a one-point space), trained with the same proxy budget and timed the same way.
for space in sample_runs/spaces/single_op_*.json; do
  name=$(basename "$space" .json)
  run "$name" --strategy random --preset soft --space "$space" --trials 1 --batch 1 \
    --latency measured --target auto --seed 0
done
