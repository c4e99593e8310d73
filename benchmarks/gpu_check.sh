#!/usr/bin/env bash
# End-to-end check of the CUDA / mixed-precision paths on a GPU machine, with GPU timings.
# Usage: bash benchmarks/gpu_check.sh OUT_DIR   (needs an environment with fdep's dependencies)
set -euo pipefail
OUT=${1:?output folder}
export PYTHONPATH=${PYTHONPATH:-}:src PYTHONUNBUFFERED=1
FDEP="python3 -m fdep.cli.main"
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0))"
$FDEP data synth --n 200 --size 256 --out "$OUT/data" --seed 0
for v in original fdep; do
  $FDEP train --model dnanet --variant $v --vfm dinov2_vits14 --vfm-weights random \
    --data "$OUT/data/synthetic" --epochs 3 --batch-size 8 --crop 224 --accelerator gpu --devices 1 \
    --precision bf16-mixed --num-workers 4 --quiet --out "$OUT/run_$v"
  $FDEP test --checkpoint "$OUT/run_$v/checkpoints/best.ckpt" --data "$OUT/data/synthetic" --split test \
    --vfm-weights random --device cuda --out "$OUT/run_$v/test_test"
done
$FDEP evaluate --pred "$OUT/run_fdep/test_test/preds" --gt "$OUT/data/synthetic" --split test
$FDEP predict --checkpoint "$OUT/run_fdep/light" --input "$OUT/data/synthetic/images" --out "$OUT/pred" --device cuda
$FDEP export --checkpoint "$OUT/run_fdep/light" --onnx "$OUT/light.onnx"
$FDEP report "$OUT/run_original" "$OUT/run_fdep" --out "$OUT/report.html"
$FDEP benchmark --models acm,alcnet,mlclnet,alclnet,dnanet,gglnet,uiunet,msdanet --variants original,fdep-main,fdep \
  --size 512 --device cuda --vfm dinov2_vitl14 --vfm-weights random --json "$OUT/benchmark.json"
