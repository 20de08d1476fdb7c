#!/usr/bin/env bash
# Runs on the device machine (see docs/development.md): Pagoda's CPU engine and tokenizer against
# their peers (transformers generate, HF tokenizers) on the same CPU, same threads, same shapes.
# Expects .devbin/ (pagoda, tokenizer_bench, libpagoda.so) and .devpack/ (runtime libraries and
# the tokenizer test data) carried in; writes results under $OUT.
set -euo pipefail
threads=${THREADS:-16}
mkdir -p /tmp/libs /tmp/testdata
for t in .devpack/*.tar.xz; do tar xJf "$t" -C /tmp/libs; done
mv /tmp/libs/tokenizer-* /tmp/testdata/ 2>/dev/null || true
export LD_LIBRARY_PATH=/tmp/libs:$PWD/.devbin
export PAGODA_NUM_THREADS=$threads OMP_NUM_THREADS=$threads
lscpu | grep -E "Model name|^CPU\(s\)" | tee $OUT/cpu.txt
model=/tmp/llama-3.2-1b && mkdir -p $model && cp tests/fixtures/configs/llama3_2_1b_instruct_v5.json $model/config.json
common="--load-format dummy --dtype bfloat16 --max-model-len 4096 --kv-cache-memory 8GiB"
{
  echo "== tokenizer (1 thread)"
  python3 - <<'PY'
import sys; sys.path.insert(0, "tools"); import tokenizer_corpus, json
c = tokenizer_corpus.build("/nonexistent")  # generated part only: same text for both tokenizers
t = "\n".join(c); t = t * max(1, (2 << 20) // len(t.encode()))
open("/tmp/bench_text.txt", "w").write(t)
PY
  for v in llama3 qwen3; do
    echo "-- $v pagoda"; PAGODA_NUM_THREADS=1 .devbin/tokenizer_bench /tmp/testdata/tokenizer-$v/tokenizer.json /tmp/bench_text.txt
    echo "-- $v HF tokenizers"; RAYON_NUM_THREADS=1 python3 -c "
import time, tokenizers
tok = tokenizers.Tokenizer.from_file('/tmp/testdata/tokenizer-$v/tokenizer.json')
t = open('/tmp/bench_text.txt').read()
docs = t.splitlines(keepends=True)  # line by line, as tokenizer_bench does
best = 1e9
for _ in range(3):  # the first pass warms the cache, as tokenizer_bench's
    s = time.perf_counter(); n = sum(len(e.ids) for e in tok.encode_batch(docs, add_special_tokens=False)); best = min(best, time.perf_counter() - s)
print(f'tokenizers {tokenizers.__version__}: {n} tokens {n/best/1e6:.3f} M tokens/s {len(t.encode())/best/1e6:.2f} MB/s (encode_batch, RAYON_NUM_THREADS=1)')"
  done
  echo "== throughput"
  PAGODA_LOG_LEVEL=debug .devbin/pagoda bench throughput $model $common --input-len 128 --output-len 64 --num-prompts 16 --output-json $OUT/pagoda_throughput.json 2>&1 | grep -v "step [1-9][0-9]*:" | grep -v "step [2-9]:"
  python3 tools/bench_cpu_peer.py $model throughput --input-len 128 --output-len 64 --num-prompts 16 --threads $threads --output-json $OUT/hf_throughput.json
  echo "== latency"
  .devbin/pagoda bench latency $model $common --input-len 32 --output-len 64 --batch-size 1 --num-iters 3 --output-json $OUT/pagoda_latency.json
  python3 tools/bench_cpu_peer.py $model latency --input-len 32 --output-len 64 --batch-size 1 --num-iters 3 --threads $threads --output-json $OUT/hf_latency.json
} 2>&1 | grep -v "\[info\]" | tee $OUT/bench.log
