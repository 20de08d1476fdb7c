#!/usr/bin/env bash
# On the GPU machine, one call: unpack the carried build and libraries, start llama.cpp's build
# and the GGUF conversion in the background (they outlive the call, for the next one), run the
# GPU tests, write the Llama-3-8B-shaped checkpoint and run Pagoda's benchmarks, and profile a
# few eager decode steps with Nsight Compute. Logs go to $OUT.
#   carry: .devbin (cuda.tar.xz: pagoda, gpu_tests, local_ranks_engine_tests, libpagoda.so),
#          .devpack (libs.tar.xz),
#          .devdata (llama.cpp.tar.gz from pack_llama_cpp.sh, tok.tar.xz: Llama 3's tokenizer)
#   bash tools/gpu_bench/device_session.sh [steps...]
#   steps, run in this order: tests parallel bench sampling profile llama llamabench hfpeer
#   (default: tests bench profile llama)
set -uo pipefail
out=${OUT:-/tmp/out}
steps=${*:-tests bench profile llama}
mkdir -p /tmp/libs /tmp/bin "$out"
[ -f /tmp/bin/pagoda ] || tar xJf .devbin/cuda.tar.xz -C /tmp/bin
[ -d /tmp/libs/lib ] || tar xJf .devpack/libs.tar.xz -C /tmp/libs
[ -d /tmp/tok ] || { mkdir -p /tmp/tok && tar xJf .devdata/tok.tar.xz -C /tmp/tok; }
export LD_LIBRARY_PATH=/tmp/libs/lib/x86_64-linux-gnu:/tmp/bin
has() { [[ " $steps " == *" $1 "* ]]; }
nvidia-smi --query-gpu=name,memory.used,memory.total,clocks.sm --format=csv,noheader

if has llama && [ ! -e /tmp/llama.started ]; then
  touch /tmp/llama.started
  setsid nohup bash -c "nice bash tools/gpu_bench/build_llama_cpp.sh .devdata/llama.cpp.tar.gz /tmp/lc \
    > /tmp/llama_build.log 2>&1; touch /tmp/llama.built" >/dev/null 2>&1 &
fi
if has tests; then
  PAGODA_SOURCE_DIR=$PWD timeout 200 /tmp/bin/gpu_tests --gtest_brief=1 2>&1 | tee "$out/gpu_tests.log" | tail -25
fi
if has parallel; then
  # Parallel GPU engines whose ranks Pagoda starts: on one GPU, ranks sharing it through
  # host-staged groups; with two or more, NCCL. Then the CLI's error for more ranks than GPUs.
  PAGODA_SOURCE_DIR=$PWD PAGODA_NUM_THREADS=2 timeout 300 /tmp/bin/local_ranks_engine_tests \
    --gtest_brief=1 2>&1 | tee "$out/local_ranks.log" | grep -v "\[info\]" | tail -15
  gpus=$(nvidia-smi -L | wc -l)
  start=$(date +%s%N)
  timeout 120 /tmp/bin/pagoda generate models/kjv-llama --device cuda --prompt "And God said" \
    --tensor-parallel-size $((gpus + 1)) --max-tokens 8 2>&1 | tail -2
  echo "exit status ${PIPESTATUS[0]} after $(( ($(date +%s%N) - start) / 1000000 )) ms"
fi
if has bench || has sampling || has profile || has llama; then
  [ -f /tmp/l3/config.json ] || python3 tools/gpu_bench/make_llama3_8b.py /tmp/l3 --tokenizer /tmp/tok/tokenizer-llama3
fi
if has llama && [ ! -e /tmp/gguf.started ]; then
  touch /tmp/gguf.started
  setsid nohup bash -c "while [ ! -e /tmp/llama.built ]; do sleep 5; done; \
    PYTHONPATH=/tmp/lc/llama.cpp/gguf-py python3 /tmp/lc/llama.cpp/convert_hf_to_gguf.py /tmp/l3 \
    --outtype bf16 --outfile /tmp/l3.gguf > /tmp/gguf.log 2>&1; touch /tmp/gguf.done" >/dev/null 2>&1 &
fi
if has bench; then
  timeout 330 bash tools/gpu_bench/pagoda_bench.sh /tmp/bin/pagoda /tmp/l3 2>&1 | tee "$out/bench.log" |
    grep -E "^(batch-1|prefill|throughput)|Error|error" | tail -8
fi
if has sampling; then
  # The device sampler: batch-1 decode and offline throughput sampling with top-k and top-p
  # instead of greedy (SAMPLING overrides the setting).
  for setting in "${SAMPLING:---temperature 0.8 --top-p 0.95 --top-k 50}"; do
    echo "== sampling: $setting"
    for len in 1 129; do
      timeout 60 /tmp/bin/pagoda bench latency /tmp/l3 --device cuda --dtype bfloat16 \
        --max-model-len 4096 --skip-tokenizer-init --input-len 128 --output-len $len --batch-size 1 \
        --num-iters-warmup 2 --num-iters 5 $setting --output-json /tmp/lat_$len.json > /dev/null 2>&1
    done
    python3 -c 'import json; a, b = (json.load(open(f"/tmp/lat_{n}.json"))["avg_latency"] for n in (1, 129)); print(f"batch-1 decode: {(b - a) / 128 * 1e3:.2f} ms/token")'
    timeout 150 /tmp/bin/pagoda bench throughput /tmp/l3 --device cuda --dtype bfloat16 \
      --max-model-len 4096 --skip-tokenizer-init --input-len 512 --output-len 256 --num-prompts 1000 \
      --max-num-seqs 256 --max-num-batched-tokens 8192 $setting 2>&1 | tee -a "$out/sampling.log" |
      grep -E "output tokens/s|[Ee]rror" | tail -3
  done
fi
if has profile; then
  # Eager decode steps (one sequence): per-kernel device time, in launch order, from Nsight Compute.
  timeout 240 ncu --launch-skip 2500 --launch-count 700 --metrics gpu__time_duration.sum --csv \
    /tmp/bin/pagoda bench latency /tmp/l3 --device cuda --dtype bfloat16 --max-model-len 4096 \
    --skip-tokenizer-init --enforce-eager --input-len 128 --output-len 24 --batch-size 1 \
    --num-iters-warmup 0 --num-iters 1 > "$out/ncu.csv" 2> "$out/ncu.err"
  python3 tools/gpu_bench/ncu_summary.py "$out/ncu.csv" | tail -25
fi
if has llamabench; then
  # llama.cpp on the same weights: wait (bounded) for the background build and conversion.
  for _ in $(seq 100); do [ -e /tmp/gguf.done ] && break; sleep 3; done
  tail -2 /tmp/gguf.log
  bin=/tmp/lc/llama.cpp/build/bin
  timeout 200 $bin/llama-bench -m /tmp/l3.gguf -ngl 99 -fa 1 -p 2048 -n 128 -r 3 2>&1 | tee "$out/llama_bench.log" | grep -E "^\|"
  timeout 200 $bin/llama-batched-bench -m /tmp/l3.gguf -ngl 99 -fa on -c 200704 -b 2048 -ub 512 \
    -npp 512 -ntg 256 -npl 256 2>&1 | tee "$out/llama_batched.log" | grep -E "^\|" | tail -3
fi
if has hfpeer; then
  PYTHONUNBUFFERED=1 timeout 430 python3 tools/gpu_bench/hf_peer.py /tmp/l3 --only decode,prefill \
    --json "$out/hf_peer.json" 2>&1 | grep -v Warning | tail -8
fi
echo "llama.cpp: built=$([ -e /tmp/llama.built ] && echo yes || echo no) gguf=$([ -e /tmp/gguf.done ] && echo yes || echo no)"
tail -3 /tmp/llama_build.log 2>/dev/null
