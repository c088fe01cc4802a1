#!/usr/bin/env bash
# GPU check of ccneg-train: ViT-B/32 CoN-CLIP training steps at batch 200 in bf16,
# one process and torchrun DDP (one process per visible GPU), printing samples/s and
# peak GPU memory. Results go to $OUT (JSON per run + gpu_check.txt) when OUT is set.
#
#   bash benchmarks/gpu_check.sh                        # from the repository root
#   PYTHON=python3.12 OUT=results bash benchmarks/gpu_check.sh
#   DRY_RUN=1 bash benchmarks/gpu_check.sh              # the same code on the CPU: a tiny CLIP, a few steps
#   MODEL=open_clip:ViT-L-14 bash benchmarks/gpu_check.sh  # another architecture (random weights)
#
# Runs offline: random ViT-B-32 weights (speed does not depend on their values) and a
# generated dataset. Without a CUDA GPU it stops at once with exit status 3 (DRY_RUN=1 runs on
# the CPU instead, to prove an installation before GPU time is spent on it).
#
# On an air-gapped node (no package index) whose Python has torch, torchvision, transformers,
# pyarrow and pandas but not open_clip: run `bash benchmarks/gpu_wheels.sh` on a machine with
# PyPI first and copy benchmarks/gpu_wheels/ along with the working tree. When $PYTHON cannot
# import open_clip, this script installs exactly those wheels with
# `pip install --no-index --no-deps --target` into a temporary folder on PYTHONPATH (the node's
# Python environment is not changed; without pip it unpacks them) and takes ccneg itself from
# this checkout.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-$(command -v python3 || command -v python)}"
STEPS="${STEPS:-10}"
DRY_RUN="${DRY_RUN:-0}"
WHEELS="${WHEELS:-$HERE/gpu_wheels}"
export PYTHONPATH="$HERE/..${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1
STARTED=$SECONDS

WORK="$(mktemp -d "${TMPDIR:-/tmp}/ccneg_gpu_check.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
LOG="${OUT:-$WORK}/gpu_check.txt"
mkdir -p "$(dirname "$LOG")"
: > "$LOG"

NEEDED='import torch, torchvision, open_clip, ccneg_bench.train.loop, ccneg_bench.mining'
if ! "$PYTHON" -c "$NEEDED" 2>/dev/null && [ -f "$WHEELS/requirements.txt" ]; then
  SITE="$WORK/site"
  echo "gpu_check: installing the wheels of $WHEELS into a temporary folder (no index, no dependencies)" | tee -a "$LOG"
  if "$PYTHON" -m pip --version >/dev/null 2>&1; then
    "$PYTHON" -m pip install --quiet --disable-pip-version-check --no-index --no-deps \
      --find-links "$WHEELS" --target "$SITE" -r "$WHEELS/requirements.txt" 2>&1 | tee -a "$LOG"
  else  # no pip: these wheels hold no scripts or data, so unpacking them is the whole install
    echo "gpu_check: $PYTHON has no pip; unpacking the wheels instead" | tee -a "$LOG"
    for wheel in "$WHEELS"/*.whl; do "$PYTHON" -m zipfile -e "$wheel" "$SITE"; done
  fi
  export PYTHONPATH="$PYTHONPATH:$SITE"
fi
if ! "$PYTHON" -c "$NEEDED"; then
  echo "gpu_check: $PYTHON cannot import torch, torchvision, open_clip and ccneg's training code (above)." >&2
  echo "gpu_check: without a package index, run bash benchmarks/gpu_wheels.sh where PyPI is reachable and copy" >&2
  echo "gpu_check: benchmarks/gpu_wheels/ here; with one, pip install -e '.[train]'; or set PYTHON=..." >&2
  exit 2
fi
"$PYTHON" -c 'import sys, torch, open_clip; print(f"python {sys.version.split()[0]}, torch {torch.__version__} (CUDA {torch.version.cuda}), open_clip {open_clip.__version__}")' | tee -a "$LOG"

if [ "$DRY_RUN" = 1 ]; then
  # the same scripts and code path on the CPU with a tiny CLIP, small enough for a minute or two;
  # ViT-B-32 itself is only built once, to show that the check's architecture loads
  DEVICE=cpu NGPU=1 STEPS=2
  "$PYTHON" -c 'import open_clip; open_clip.create_model("ViT-B-32", pretrained=None); print("ViT-B-32 builds")' | tee -a "$LOG"
  "$PYTHON" -c 'import sys; from benchmarks.shapes.world import write_tiny_clip_config; write_tiny_clip_config(sys.argv[1])' \
    "$WORK/tiny-clip.json"
  MODEL="${MODEL:-open_clip:$WORK/tiny-clip.json}"
  PREPARE=(--images 48 --workers 2)
  RUN=(--batch-size 16 --precision fp32 --workers 2)
  echo "gpu_check: dry run on the CPU (timings mean nothing)" | tee -a "$LOG"
else
  if ! "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "gpu_check: no CUDA GPU visible to torch (torch.cuda.is_available() is False); nothing to measure." >&2
    echo "gpu_check: run this on a machine with an NVIDIA GPU and a CUDA build of torch (DRY_RUN=1: the CPU)." >&2
    exit 3
  fi
  DEVICE=cuda PREPARE=() RUN=()
  NGPU="$("$PYTHON" -c 'import torch; print(torch.cuda.device_count())')"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$LOG" || true
fi
MODEL="${MODEL:-open_clip:ViT-B-32}"
echo "GPUs visible: $([ "$DEVICE" = cpu ] && echo 0 || echo "$NGPU"); model $MODEL" | tee -a "$LOG"

"$PYTHON" "$HERE/gpu_step_bench.py" prepare --work "$WORK" --device "$DEVICE" --model "$MODEL" \
  ${PREPARE[@]+"${PREPARE[@]}"} | tee -a "$LOG"

run() {  # name, then extra flags
  local name="$1"; shift
  "$PYTHON" "$HERE/gpu_step_bench.py" run --work "$WORK" --name "$name" --steps "$STEPS" --device "$DEVICE" --model "$MODEL" \
    ${RUN[@]+"${RUN[@]}"} "$@" | tee -a "$LOG"
}
ddp() {  # name, then extra flags: one process per GPU under torchrun
  local name="$1" port; shift
  port="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  "$PYTHON" -m torch.distributed.run --nproc_per_node "$NGPU" --master_addr 127.0.0.1 --master_port "$port" \
    "$HERE/gpu_step_bench.py" run --work "$WORK" --name "$name" --steps "$STEPS" --device "$DEVICE" --model "$MODEL" \
    ${RUN[@]+"${RUN[@]}"} "$@" | tee -a "$LOG"
}
run single-locked-uncached --cache off
run single-locked-cached --cache on
run single-full-finetune --no-lock-image --cache off
ddp "ddp${NGPU}-locked-uncached" --cache off
ddp "ddp${NGPU}-locked-cached" --cache on

echo "gpu_check: done in $((SECONDS - STARTED)) s; results in ${OUT:-$WORK (removed on exit: set OUT to keep them)}" | tee -a "$LOG"
