#!/usr/bin/env bash
# The GPU evidence issue 6 asks for, as one prepared script for a machine with CUDA:
# the CUDA tests, then `convcalc profile` on ResNet-50 and MobileNetV2 in bfloat16 and float32 at
# batch 1 and 64, each as Markdown (for docs/profile.md) and JSON. Results go to $OUT (or ./gpu-out).
#
#   bash benchmarks/gpu_profile.sh          # torch with CUDA and the project installed
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-out}
mkdir -p "$out"
python -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.__version__, torch.cuda.get_device_name())" | tee "$out/device.txt"
python -m pytest -q -m gpu tests/test_profile.py | tee "$out/pytest-gpu.txt"
convcalc profile specs/resnet50.yaml --device cuda --calibrate --iters 5 --warmup 2 > /dev/null  # measure and cache peaks once
for spec in resnet50 mobilenet_v2; do
  for dtype in bfloat16 float32; do
    convcalc profile "specs/$spec.yaml" --device cuda --dtype "$dtype" --batch 1,64 --format markdown \
      > "$out/$spec-$dtype.md" 2> "$out/$spec-$dtype.err"
    convcalc profile "specs/$spec.yaml" --device cuda --dtype "$dtype" --batch 1,64 --format json \
      > "$out/$spec-$dtype.json" 2>> "$out/$spec-$dtype.err"
  done
done
ls -l "$out"
