#!/usr/bin/env python3
"""Writes a Llama-3-8B-shaped checkpoint with random bf16 weights, for GPU benchmarks.

    python3 tools/gpu_bench/make_llama3_8b.py OUT_DIR [--tokenizer DIR] [--layers N]

32 layers, hidden 4096, 32 heads, 8 KV heads, MLP 14336, vocab 128256 (Meta-Llama-3-8B's
config.json). Weights are drawn on the GPU (normal, std 0.02; norms 1) with a fixed seed, so the
benchmark never runs on zeros. --tokenizer copies tokenizer.json/tokenizer_config.json (Llama 3's,
from the test data) so that llama.cpp's converter and text prompts work.
"""
import argparse
import shutil
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--tokenizer")
    ap.add_argument("--layers", type=int, default=32)
    args = ap.parse_args()
    config = LlamaConfig(
        vocab_size=128256, hidden_size=4096, intermediate_size=14336,
        num_hidden_layers=args.layers, num_attention_heads=32, num_key_value_heads=8,
        max_position_embeddings=8192, rope_theta=500000.0, rms_norm_eps=1e-5,
        tie_word_embeddings=False, bos_token_id=128000, eos_token_id=128001)
    torch.manual_seed(0)
    with torch.device("meta"):
        model = LlamaForCausalLM(config)
    model = model.to_empty(device="cuda").to(torch.bfloat16)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.fill_(1.0)
            else:
                p.normal_(0.0, 0.02)
    model.save_pretrained(args.out, max_shard_size="5GB")
    if args.tokenizer:
        for f in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(Path(args.tokenizer) / f, Path(args.out) / f)
    n = sum(p.numel() for p in model.parameters())
    print(f"wrote {args.out}: {n / 1e9:.2f} B parameters, bf16")


if __name__ == "__main__":
    main()
