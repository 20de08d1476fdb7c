#!/usr/bin/env python3
"""The transformers peer for the GPU benchmarks of issue 7, on one GPU, bf16:

  decode    batch-1 decode ms/token (128-token prompt, 128 new tokens), eager (dynamic cache) and
            static cache, which generate() compiles with torch.compile (CUDA graphs)
  prefill   one 2,048-token prompt: seconds and TFLOP/s (2 x parameters x tokens, plus causal
            attention 2 x layers x tokens^2 x hidden)
  throughput  N prompts of 512 random tokens, 256 new tokens each (min_new_tokens: no early EOS),
            static batches of --batch, eager; output tokens/s

    python3 tools/gpu_bench/hf_peer.py MODEL_DIR [--only decode,prefill,throughput] [--json OUT]

Timings use CUDA synchronisation around the region after a warm-up; prompts are random token ids.
"""
import argparse
import json
import time

import torch
from transformers import AutoModelForCausalLM


def sync_time():
    torch.cuda.synchronize()
    return time.perf_counter()


def random_ids(rows, length, vocab, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(1000, vocab - 1000, (rows, length), generator=g).cuda()


@torch.no_grad()
def generate_time(model, ids, new_tokens, **kw):
    t0 = sync_time()
    out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens,
                         min_new_tokens=new_tokens, do_sample=False, **kw)
    t1 = sync_time()
    assert out.shape[1] == ids.shape[1] + new_tokens
    return t1 - t0


def decode_ms(model, vocab, compiled):
    ids = random_ids(1, 128, vocab, 1)
    kw = {"cache_implementation": "static"} if compiled else {}
    # Warm-up with the very lengths measured: a static cache is sized by them, and each new size
    # compiles (and captures CUDA graphs) again.
    for _ in range(2 if compiled else 1):
        generate_time(model, ids, 129, **kw)
        generate_time(model, ids, 1, **kw)
    full = generate_time(model, ids, 129, **kw)
    one = generate_time(model, ids, 1, **kw)  # the prefill and first token alone
    return (full - one) / 128 * 1e3


@torch.no_grad()
def prefill(model, vocab, config):
    ids = random_ids(1, 2048, vocab, 2)
    model(ids)
    times = []
    for _ in range(5):
        t0 = sync_time()
        model(ids)
        times.append(sync_time() - t0)
    t = sorted(times)[len(times) // 2]
    params = sum(p.numel() for p in model.parameters()) - config.vocab_size * config.hidden_size
    flops = 2 * params * 2048 + 2 * config.num_hidden_layers * 2048 * 2048 * config.hidden_size
    return t, flops / t / 1e12


def throughput(model, vocab, prompts, batch):
    total = 0.0
    for b in range(0, prompts, batch):
        ids = random_ids(min(batch, prompts - b), 512, vocab, 100 + b)
        total += generate_time(model, ids, 256)
    return prompts * 256 / total, total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--only", default="decode,prefill,throughput")
    ap.add_argument("--prompts", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=250)
    ap.add_argument("--json")
    args = ap.parse_args()
    only = set(args.only.split(","))
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.bfloat16).cuda().eval()
    model.generation_config.pad_token_id = model.config.eos_token_id
    vocab = model.config.vocab_size
    result = {"torch": torch.__version__, "gpu": torch.cuda.get_device_name()}
    if "prefill" in only:
        t, tflops = prefill(model, vocab, model.config)
        result["prefill_2048_s"], result["prefill_tflops"] = t, tflops
        save(result, args.json)
        print(f"transformers prefill 2048: {t * 1e3:.1f} ms, {tflops:.0f} TFLOP/s", flush=True)
    if "throughput" in only:
        tps, t = throughput(model, vocab, args.prompts, args.batch)
        result["throughput_output_tokens_per_s"], result["throughput_s"] = tps, t
        save(result, args.json)
        print(f"transformers throughput: {args.prompts} x (512 + 256) in {t:.1f} s, "
              f"{tps:.0f} output tokens/s (static batches of {args.batch}, eager)", flush=True)
    if "decode" in only:
        result["decode_eager_ms"] = decode_ms(model, vocab, compiled=False)
        save(result, args.json)
        print(f"transformers decode, eager: {result['decode_eager_ms']:.2f} ms/token", flush=True)
        # With a static cache, generate() compiles the forward itself (CUDA graphs included).
        result["decode_compiled_ms"] = decode_ms(model, vocab, compiled=True)
        print(f"transformers decode, static cache + torch.compile: "
              f"{result['decode_compiled_ms']:.2f} ms/token", flush=True)
    save(result, args.json)


def save(result, path):
    if path:
        with open(path, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
