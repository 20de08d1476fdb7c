#!/usr/bin/env bash
# On the GPU machine: Pagoda's side of issue 7's benchmarks on a Llama-3-8B-shaped checkpoint
# (make_llama3_8b.py), bf16, one GPU. Prints the tables of `pagoda bench` and a summary:
#   batch-1 decode ms/token  = (latency of 128 + 129 new tokens - latency of 128 + 1) / 128
#   prefill of 2,048 tokens  = latency of one 2,048-token prompt and 1 new token, with TFLOP/s
#                              counted as hf_peer.py does (2 x params x tokens + causal attention)
#   offline throughput       = 1,000 prompts of 512 random tokens, 256 new tokens each
# Usage: bash tools/gpu_bench/pagoda_bench.sh PAGODA_BINARY MODEL_DIR [extra pagoda flags...]
set -euo pipefail
pagoda=$1 model=$2
shift 2
common=(--device cuda --dtype bfloat16 --max-model-len 4096 --skip-tokenizer-init "$@")
latency() {  # input_len output_len -> average seconds
  "$pagoda" bench latency "$model" "${common[@]}" --input-len "$1" --output-len "$2" \
    --batch-size 1 --num-iters-warmup 2 --num-iters 5 --output-json /tmp/lat.json >&2
  python3 -c 'import json; print(json.load(open("/tmp/lat.json"))["avg_latency"])'
}
one=$(latency 128 1)
many=$(latency 128 129)
prefill=$(latency 2048 1)
"$pagoda" bench throughput "$model" "${common[@]}" --input-len 512 --output-len 256 \
  --num-prompts 1000 --max-num-seqs 256 --max-num-batched-tokens 8192 --output-json /tmp/tp.json
python3 - "$one" "$many" "$prefill" <<'PY'
import json, sys
one, many, prefill = map(float, sys.argv[1:])
params, layers, hidden, tokens = 8.03e9, 32, 4096, 2048
flops = 2 * params * tokens + 2 * layers * tokens * tokens * hidden
tp = json.load(open("/tmp/tp.json"))
print(f"batch-1 decode: {(many - one) / 128 * 1e3:.2f} ms/token")
print(f"prefill 2048: {prefill * 1e3:.1f} ms ({flops / prefill / 1e12:.0f} TFLOP/s)")
print(f"throughput: {tp.get('output_tokens_per_s', tp)} output tok/s")
PY
