#!/usr/bin/env bash
# The short GPU-machine check (under 3 minutes) for when little device time is left:
# tfjs-webgpu conformance and training-step times, then cpu on two pinned cores beside torch.
# Prepare with scripts/device-prepare.sh; run with carry [".device"]. scripts/device-all.sh is the full one.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-$(mktemp -d)}
# shellcheck disable=SC1091
source .device/prologue.sh
b=.device/bundle/bin.mjs
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader >"$out/env.txt" 2>&1
timeout 50 node "$b" verify --backend tfjs-webgpu --dtype float32 --golden packages/core/fixtures/golden.json >"$out/verify.txt" 2>&1
echo "verify exit $?"; grep -E "within tolerance|FAIL" "$out/verify.txt" | head -n 5
timeout 70 node "$b" bench --cell nBRC,BRC,GRU,LSTM --seq-len 100,300 --backend tfjs-webgpu --steps 5 --warmup 2 \
  --no-inference >"$out/webgpu-bench.txt" 2>&1
echo "webgpu bench exit $?"; grep -v -E "^\s*$|XDG|Vulkan|Dawn|While|at " "$out/webgpu-bench.txt" | tail -n 14
timeout 25 taskset -c 0,1 node "$b" bench --cell nBRC,GRU --seq-len 100 --backend cpu --steps 2 --warmup 1 \
  --no-inference >"$out/cpu-bench.txt" 2>&1
echo "cpu bench exit $?"; tail -n 5 "$out/cpu-bench.txt"
timeout 15 taskset -c 0,1 python3 scripts/torch-gru-bench.py 2 >"$out/torch.txt" 2>&1
echo "torch exit $?"; tail -n 2 "$out/torch.txt"
