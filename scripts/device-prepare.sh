#!/usr/bin/env bash
# Builds what the GPU machine needs under .device/ (see ../shared/device/README.md): the shared
# prepare.sh lays out Node, the Vulkan loader and Dawn; the CLI is bundled here with the native
# addons it does not need there (PNG rendering) left out.
# Usage, from the project root: bash scripts/device-prepare.sh   (needs ../shared beside the repo)
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1
pnpm build >/dev/null
bash ../shared/device/prepare.sh packages/backend-tfjs/dist/webgpu/check-main.js
npx -y esbuild@0.25.12 packages/cli/dist/bin.js --bundle --platform=node --format=esm --target=node20 \
  --external:webgpu --external:gl --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu \
  --external:@resvg/resvg-js \
  --banner:js="import{createRequire as __cr}from'module';const require=__cr(import.meta.url);" \
  --outfile=.device/bundle/bin.mjs --log-level=warning
du -sh .device
