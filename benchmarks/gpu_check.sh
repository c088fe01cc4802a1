#!/usr/bin/env bash
# GPU check of ccneg-train: ViT-B/32 CoN-CLIP training steps at batch 200 in bf16,
# one process and torchrun DDP (one process per visible GPU), printing samples/s and
# peak GPU memory. Results go to $OUT (JSON per run + gpu_check.txt) when OUT is set.
#
#   bash benchmarks/gpu_check.sh            # from the repository root, with the venv active
#   PYTHON=.venv/bin/python OUT=results bash benchmarks/gpu_check.sh
#
# Runs offline: random ViT-B-32 weights (speed does not depend on their values) and a
# generated dataset. Without a CUDA GPU it stops at once with exit status 3.
set -euo pipefail

PYTHON="${PYTHON:-python}"
STEPS="${STEPS:-10}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export PYTHONPATH="$HERE/..${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1

if ! "$PYTHON" -c 'import torch, open_clip, ccneg_bench' 2>/dev/null; then
  echo "gpu_check: $PYTHON cannot import torch, open_clip and ccneg_bench; install with pip install -e '.[train]' or set PYTHON=.venv/bin/python" >&2
  exit 2
fi
if ! "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
  echo "gpu_check: no CUDA GPU visible to torch (torch.cuda.is_available() is False); nothing to measure." >&2
  echo "gpu_check: run this on a machine with an NVIDIA GPU and a CUDA build of torch." >&2
  exit 3
fi

NGPU="$("$PYTHON" -c 'import torch; print(torch.cuda.device_count())')"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ccneg_gpu_check.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
LOG="${OUT:-$WORK}/gpu_check.txt"
mkdir -p "$(dirname "$LOG")"

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$LOG" || true
echo "GPUs visible: $NGPU" | tee -a "$LOG"

"$PYTHON" "$HERE/gpu_step_bench.py" prepare --work "$WORK" | tee -a "$LOG"

run() {  # name, then extra flags
  local name="$1"; shift
  "$PYTHON" "$HERE/gpu_step_bench.py" run --work "$WORK" --name "$name" --steps "$STEPS" "$@" | tee -a "$LOG"
}
run single-locked-uncached --cache off
run single-locked-cached --cache on
run single-full-finetune --no-lock-image --cache off

PORT="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$PYTHON" -m torch.distributed.run --nproc_per_node "$NGPU" --master_addr 127.0.0.1 --master_port "$PORT" \
  "$HERE/gpu_step_bench.py" run --work "$WORK" --name "ddp${NGPU}-locked-uncached" --steps "$STEPS" --cache off | tee -a "$LOG"
PORT="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$PYTHON" -m torch.distributed.run --nproc_per_node "$NGPU" --master_addr 127.0.0.1 --master_port "$PORT" \
  "$HERE/gpu_step_bench.py" run --work "$WORK" --name "ddp${NGPU}-locked-cached" --steps "$STEPS" --cache on | tee -a "$LOG"

echo "gpu_check: done; results in ${OUT:-$WORK (removed on exit: set OUT to keep them)}" | tee -a "$LOG"
