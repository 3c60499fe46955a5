#!/usr/bin/env bash
# The whole tfjs-webgpu check on the GPU machine, in one call of the device tool (2-6 min;
# each phase has a time limit, 410 s in all, plus the prologue):
#   1. verify   the oracle cases at kernel levels 1, 2 and 3, float32
#   2. profile  where a training step spends its time: one dispatch, the step's GEMMs, the
#               whole-sequence kernels per time step, full steps (WGSL backend vs tfjs ops)
#   3. bench    training steps of the copy-first-input model, B=100, H=100, 2 layers,
#               T = 100, 300, 1000, every cell, against the issue-6 targets
#   4. scale    the same at B=1000, H=256, T=1000
#   5. bench-cli `bistable bench` on the registered tfjs-webgpu, T = 100, 300 (when bin.mjs runs)
# Everything goes under $OUT; the summary (targets table included) is printed last.
#
# Prepare on the development machine (nothing is built on the GPU machine):
#   pnpm install && pnpm build
#   bash ../shared/device/prepare.sh packages/cli/dist/bin.js packages/backend-tfjs/dist/webgpu/check-main.js
# then: device run, carry [".device"], timeout_s 480, command: bash scripts/device-bench.sh
# check-main.mjs bundles the WGSL backend itself and needs nothing else; `bistable` (bin.mjs) is
# used too (verify, and a bench of the registered tfjs-webgpu) when that bundle runs here.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
if [ ! -f .device/prologue.sh ]; then
  echo "no .device/ here: run prepare.sh first (see the top of this script)" >&2
  exit 2
fi
# shellcheck disable=SC1091
source .device/prologue.sh
bin=.device/bundle/bin.mjs
check=.device/bundle/check-main.mjs
summary="$out/summary.txt"
: >"$summary"

# phase NAME LIMIT_S CMD...: output to $OUT/NAME.txt, one status line in the summary
phase() {
  local name=$1 limit=$2
  shift 2
  local t0=$SECONDS
  timeout "$limit" "$@" >"$out/$name.txt" 2>&1
  local rc=$?
  local note=""
  [ "$rc" -eq 124 ] && note=" (timed out after ${limit} s)"
  echo "$name: exit $rc in $((SECONDS - t0)) s$note" >>"$summary"
  return "$rc"
}

{
  node --version
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || true
} >"$out/env.txt" 2>&1

cli=0
if [ -f "$bin" ] && timeout 30 node "$bin" backends --json >"$out/backends.txt" 2>&1 &&
  node -e 'const t = require("fs").readFileSync(process.argv[1], "utf8");
    const r = JSON.parse(t.slice(t.indexOf("\n[") + 1)).find((b) => b.name === "tfjs-webgpu");
    process.exit(r && r.available ? 0 : 1);' "$out/backends.txt" 2>/dev/null; then
  cli=1
fi
[ -f "$check" ] || echo "check-main.mjs missing: pass packages/backend-tfjs/dist/webgpu/check-main.js to prepare.sh" >>"$summary"
echo "verify through: $([ $cli = 1 ] && echo 'bistable (bin.mjs)' || echo 'check-main.mjs (bin.mjs absent, failing or without tfjs-webgpu: see backends.txt)')" >>"$summary"

base=(--cell nBRC,BRC,GRU,LSTM --seq-len 100,300,1000 --batch 100 --hidden 100 --layers 2 --steps 10 --warmup 3)
scale=(--cell nBRC,BRC,GRU,LSTM --seq-len 1000 --batch 1000 --hidden 256 --layers 2 --steps 3 --warmup 1)
quick=()
if [ "${DEVICE_BENCH_QUICK:-0}" = 1 ]; then
  # a smoke run of this script on a software adapter (lavapipe): tiny sizes
  base=(--cell nBRC,LSTM --seq-len 10,30 --batch 4 --hidden 8 --layers 2 --steps 2 --warmup 1)
  scale=(--cell BRC --seq-len 20 --batch 8 --hidden 16 --layers 2 --steps 1 --warmup 1)
  quick=(--quick)
fi
if [ $cli = 1 ]; then
  phase verify 60 node "$bin" verify --backend tfjs-webgpu --dtype float32 --golden packages/core/fixtures/golden.json
else
  phase verify 60 node "$check" verify --golden packages/core/fixtures/golden.json
fi
phase profile 90 node "$check" profile "${quick[@]}" --out "$out/profile.json"
# the WGSL backend itself (WebgpuTfjsBackend), whatever the registered tfjs-webgpu is built from
phase bench 90 node "$check" bench "${base[@]}"
phase scale 80 node "$check" bench "${scale[@]}"
# and the registered tfjs-webgpu through the CLI, when the bundle has it
if [ $cli = 1 ]; then
  phase bench-cli 60 node "$bin" bench "${base[@]}" --seq-len 100,300 --backend tfjs-webgpu --json
fi

# bench prints JSON (after any progress lines): medians against the issue-6 targets
cat >"$out/table.mjs" <<'EOF'
import { readFileSync } from 'node:fs';
const targets = { 'nBRC/100': 1.5, 'BRC/100': 1.5, 'nBRC/300': 3, 'BRC/300': 3, 'GRU/300': 4, 'LSTM/300': 4 };
for (const file of process.argv.slice(2)) {
  let report;
  try {
    const text = readFileSync(file, 'utf8');
    report = JSON.parse(text.slice(text.indexOf('\n{') + 1));
  } catch {
    console.log(`${file}: no JSON report (see the file)`);
    continue;
  }
  console.log(`${report.backend}: batch ${report.batch}, hidden ${report.hidden}, ${report.layers} layers; ms per training step, median (min)`);
  for (const r of report.rows) {
    const t = report.batch === 100 && report.hidden === 100 ? targets[`${r.cell}/${r.seqLen}`] : undefined;
    const m = r.result.train.median;
    const verdict = t === undefined ? '' : m <= t ? `target ${t}: met` : `target ${t}: MISSED`;
    const fwd = r.result.inference ? `  forward ${r.result.inference.median.toFixed(2)}` : '';
    const split = r.result.microBatches > 1 ? `  (${r.result.microBatches} micro-batches of ${r.result.microBatch} rows)` : '';
    console.log(`  ${r.cell.padEnd(5)} T=${String(r.seqLen).padEnd(5)} train ${m.toFixed(2)} (${r.result.train.min.toFixed(2)})${fwd}${split}  ${verdict}`);
  }
}
EOF
{
  echo "== device"
  cat "$out/env.txt"
  echo "== phases"
  cat "$summary"
  echo "== verify"
  grep -E "cases within tolerance|FAIL|not available|failed" "$out/verify.txt" | head -n 20
  if [ -f "$out/profile.txt" ]; then
    echo "== profile (all of it in profile.txt and profile.json)"
    grep -E "^(adapter|dispatch|gemm nBRC|sequence kernels|training step)|FAILED" "$out/profile.txt" | head -n 40
  fi
  echo "== bench"
  node "$out/table.mjs" "$out/bench.txt" "$out/scale.txt" $([ $cli = 1 ] && echo "$out/bench-cli.txt")
} | tee "$out/report.txt"
