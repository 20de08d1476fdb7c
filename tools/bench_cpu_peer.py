#!/usr/bin/env python3
"""The peer for `pagoda bench latency|throughput` on CPU: Hugging Face transformers generating
with the same model shape (random weights, as `--load-format dummy`), the same prompt and output
lengths and the same thread count, greedy, every request exactly --output-len tokens. Prints the
same metrics as pagoda bench.

    python3 tools/bench_cpu_peer.py MODEL_DIR throughput --input-len 128 --output-len 64 --num-prompts 16
    python3 tools/bench_cpu_peer.py MODEL_DIR latency --input-len 32 --output-len 64 --batch-size 1
"""

import argparse
import json
import time

import torch
from transformers import AutoConfig, AutoModelForCausalLM


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model")
    p.add_argument("mode", choices=["latency", "throughput"])
    p.add_argument("--input-len", type=int, default=32)
    p.add_argument("--output-len", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--num-prompts", type=int, default=64)
    p.add_argument("--num-iters", type=int, default=3)
    p.add_argument("--num-iters-warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--dtype", default="bfloat16")
    p.add_argument("--output-json")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    config = AutoConfig.from_pretrained(a.model)
    model = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, a.dtype)).eval()
    vocab = config.vocab_size

    def run(batch):
        ids = torch.randint(0, vocab, (batch, a.input_len))
        start = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=a.output_len,
                                 min_new_tokens=a.output_len, do_sample=False, pad_token_id=0)
        elapsed = time.perf_counter() - start
        assert out.shape[1] == a.input_len + a.output_len
        return elapsed

    report = {"peer": "transformers", "torch": torch.__version__, "threads": torch.get_num_threads(),
              "mode": a.mode, "input_len": a.input_len, "output_len": a.output_len}
    if a.mode == "latency":
        for _ in range(a.num_iters_warmup):
            run(a.batch_size)
        lat = [run(a.batch_size) for _ in range(a.num_iters)]
        avg = sum(lat) / len(lat)
        print(f"transformers latency: batch {a.batch_size}, avg {avg:.4f} s, "
              f"{a.batch_size * a.output_len / avg:.1f} output tokens/s")
        report.update(batch_size=a.batch_size, avg_latency=avg, latencies=lat)
    else:
        elapsed = run(a.num_prompts)  # one static batch of every prompt
        total = a.num_prompts * (a.input_len + a.output_len)
        print(f"transformers throughput: {a.num_prompts} prompts in {elapsed:.2f} s, "
              f"{a.num_prompts / elapsed:.2f} requests/s, {total / elapsed:.1f} total tokens/s, "
              f"{a.num_prompts * a.output_len / elapsed:.1f} output tokens/s")
        report.update(num_prompts=a.num_prompts, elapsed=elapsed, requests_per_s=a.num_prompts / elapsed,
                      total_tokens_per_s=total / elapsed, output_tokens_per_s=a.num_prompts * a.output_len / elapsed)
    if a.output_json:
        with open(a.output_json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
