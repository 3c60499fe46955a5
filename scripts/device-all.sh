#!/usr/bin/env bash
# Every GPU-machine check of the project in one call of the device tool (about 5-9 minutes):
#   tfjs-webgpu: oracle conformance at every level and the per-kernel step kit, training-step bench
#     (dispatches per step in its JSON), and the same bench with the recurrent product split over
#     threads (BISTABLE_WEBGPU_SPLIT=auto, in subgroups, then through workgroup memory) beside it
#     (issue 17's per-step latency), and 5 models
#     at binary addition's paper size as one Ensemble (each layer's passes of all 5 in one dispatch)
#     against one after another (issue 17's ensembles)
#   gpujs-webgpu: oracle conformance and the step kit, training-step bench
#   cpu on two pinned cores beside torch's nn.GRU on the same cores (issue 7)
#   the scale case and the WGSL profile (issue 6)
# Prepare first: bash scripts/device-prepare.sh; then device run, carry [".device"],
# timeout_s 590, command: bash scripts/device-all.sh
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
# shellcheck disable=SC1091
source .device/prologue.sh
bin=.device/bundle/bin.mjs
check=.device/bundle/check-main.mjs
summary="$out/summary.txt"
: >"$summary"
phase() {
  local name=$1 limit=$2
  shift 2
  local t0=$SECONDS
  timeout "$limit" "$@" >"$out/$name.txt" 2>&1
  local rc=$?
  echo "$name: exit $rc in $((SECONDS - t0)) s$([ "$rc" -eq 124 ] && echo " (timed out after $limit s)")" >>"$summary"
}
{
  node --version
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null
  lscpu | grep -E "Model name|^CPU\(s\)"
  python3 -c "import torch; print('torch', torch.__version__)" 2>&1 | tail -n 1
} >"$out/env.txt" 2>&1
cells=(--cell nBRC,BRC,GRU,LSTM --batch 100 --hidden 100 --layers 2)
phase backends 30 node "$bin" backends
phase tfjs-verify 60 node "$bin" verify --backend tfjs-webgpu --dtype float32 --step-kit --golden packages/core/fixtures/golden.json
phase tfjs-bench 80 node "$bin" bench "${cells[@]}" --seq-len 100,300,1000 --backend tfjs-webgpu --steps 10 --json
phase tfjs-split 70 env BISTABLE_WEBGPU_SPLIT=auto node "$bin" bench "${cells[@]}" --seq-len 100,300,1000 --backend tfjs-webgpu --steps 10 --json
# the same split reduced through workgroup memory instead of subgroups, for comparison
phase tfjs-split-wg 40 env BISTABLE_WEBGPU_SPLIT=auto BISTABLE_WEBGPU_SUBGROUPS=0 node "$bin" bench "${cells[@]}" --seq-len 100,300 --backend tfjs-webgpu --steps 5 --json
phase tfjs-ensemble 40 node "$bin" bench --cell nBRC,GRU --seq-len 12 --batch 200 --hidden 100 --layers 2 --backend tfjs-webgpu --ensemble 5 --steps 5 --json
phase gpujs-verify 45 node "$bin" verify --backend gpujs-webgpu --dtype float32 --step-kit --golden packages/core/fixtures/golden.json
phase gpujs-bench 35 node "$bin" bench "${cells[@]}" --seq-len 100,300 --backend gpujs-webgpu --steps 2 --json
phase cpu-bench 35 taskset -c 0,1 node "$bin" bench "${cells[@]}" --seq-len 100,300 --backend cpu --steps 3 --json
phase torch-gru 45 taskset -c 0,1 python3 scripts/torch-gru-bench.py 2
# B=1000 at T=1000, H=256 exceeds WebGPU's 2 GiB binding per buffer (GRU's cache alone is 4.1 GB):
# SequenceModel splits each step into micro-batches on its own; the JSON's microBatch/microBatches say how
phase tfjs-scale 50 node "$bin" bench --cell nBRC,BRC,GRU,LSTM --seq-len 1000 --batch 1000 --hidden 256 --layers 2 --backend tfjs-webgpu --warmup 1 --steps 1 --json
phase profile 40 node "$check" profile --out "$out/profile.json"
{
  echo "== env"; cat "$out/env.txt"
  echo "== phases"; cat "$summary"
  for v in tfjs-verify gpujs-verify; do echo "== $v"; grep -E "within tolerance|FAIL|not available" "$out/$v.txt" | head -n 12; done
  echo "== torch"; tail -n 1 "$out/torch-gru.txt"
  for b in tfjs-bench tfjs-split tfjs-split-wg; do
    echo "== $b (cell T train-median-ms dispatches-per-step)"
    # the JSON sits between a line "{" and a line "}"; Dawn's warnings may come before it
    node -e 'const t=require("fs").readFileSync(process.argv[1],"utf8");const d=JSON.parse(t.slice(t.indexOf("\n{")+1,t.lastIndexOf("\n}")+2));for(const r of d.rows)console.log(r.cell,r.seqLen,r.result.train.median.toFixed(2),r.result.device?.dispatches)' "$out/$b.txt" 2>&1 | head -n 12
  done
  echo "== tfjs-ensemble (cell T ensemble-of-5-ms one-after-another-ms speed-up dispatches apart)"
  node -e 'const t=require("fs").readFileSync(process.argv[1],"utf8");const d=JSON.parse(t.slice(t.indexOf("\n{")+1,t.lastIndexOf("\n}")+2));for(const r of d.rows)console.log(r.cell,r.seqLen,r.result.train.median.toFixed(2),r.compare.train.median.toFixed(2),r.trainSpeedup.toFixed(2),r.result.device?.dispatches,r.compare.device?.dispatches)' "$out/tfjs-ensemble.txt" 2>&1 | head -n 4
  echo "== scale (per cell: rows per pass, passes)"; grep -E '"(cell|microBatch|microBatches)":' "$out/tfjs-scale.txt" | tr -s ' ' | paste -sd' '
} | tee "$out/report.txt"
