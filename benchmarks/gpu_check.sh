#!/usr/bin/env bash
# Issue 24's checks in one call on a machine with a GPU, from the repository root:
#   OUT=gpu-out bash benchmarks/gpu_check.sh        (at most 580 s, its timeouts; not yet run)
# It installs nothing (it needs torch with CUDA, transformers, einops, matplotlib, tqdm, pytest
# and hypothesis there) and writes its logs under $OUT, most wanted first: the levers of the
# update one by one, PPO's GPU/CPU ratio, the tiny demo (as `reproduce` runs it, with its
# stages and critical path), its findings, `pytest -m cuda`, every tutorial on cuda, and
# where a PPO step syncs with the GPU. The timeouts sum to 580 s, under a 10-minute call. The
# profile of a PPO step and its floor, measured before (README, "On a GPU"), run apart:
# `gpu_profile.py cuda`, `ppo_throughput.py --device cuda`.
set -u
OUT=${OUT:-gpu-out}; mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg PYTHONPATH=$PWD
T0=$(date +%s); at() { echo "[$(( $(date +%s) - T0 )) s] $*" >> "$OUT/env.log"; }
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader; nproc
  python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__, 'cuda', torch.cuda.is_available())"; } > "$OUT/env.log" 2>&1
at levers; timeout 110 python3 benchmarks/gpu_levers.py --device cuda > "$OUT/levers.log" 2>&1
at speed; timeout 45 python3 benchmarks/gpu_speed.py > "$OUT/speed.log" 2>&1
tiny=$(mktemp -d)
at tiny; timeout 200 python3 benchmarks/stage_profile.py --preset tiny --seeds 0 1 2 3 \
  --jobs "$(nproc)" --device cuda --out "$tiny/run" > "$OUT/tiny.log" 2>&1
at findings; timeout 45 python3 benchmarks/seed_robustness.py --preset tiny --seeds 0 1 2 3 \
  --out "$tiny/run" --device cuda --jobs 1 > "$OUT/findings.log" 2>&1
at "pytest + tutorials"  # side by side: neither is timed
timeout 150 python3 -m pytest -m cuda -q -p no:cacheprovider -rs > "$OUT/pytest.log" 2>&1 &
for path in "$PWD"/tutorials/[0-9]*.py; do
  name=$(basename "$path" .py); mkdir -p "$tiny/$name"
  ( cd "$tiny/$name" && MINIRMO_FAST=1 MINIRMO_DEVICE=cuda MINIRMO_OUT=. MINIRMO_RUN_DIR=run \
      timeout 150 python3 "$path" > log 2>&1; echo "$name exit $?" >> ../tutorials ) &
done
wait
{ cat "$tiny/tutorials"; for log in "$tiny"/[0-9]*/log; do echo "== $log"; tail -5 "$log"; done; } \
  > "$OUT/tutorials.log"
at reads; timeout 30 python3 benchmarks/host_reads.py --device cuda > "$OUT/reads.log" 2>&1
at done
