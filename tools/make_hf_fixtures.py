#!/usr/bin/env python3
"""Creates tiny random-weight Hugging Face checkpoints and their reference outputs.

Run where torch and transformers are installed (the GPU machine has both):

    python3 tools/make_hf_fixtures.py --out tests/fixtures/hf

For each architecture it builds the model through transformers' own class, with random weights
(every parameter, norms and biases included, drawn with a fixed seed so the logits are well
separated), saves it with save_pretrained (config.json + model.safetensors), then runs several
prompts of different lengths and saves, in expected.safetensors:

    prompt.<i>.input_ids   int64 [len]
    prompt.<i>.logits      float32 [len, vocab]   logits at every prompt position
    prompt.<i>.greedy      int64 [16]             16-token greedy continuation (no EOS stop)

plus versions.json recording torch and transformers versions. Pagoda's model tests load the
checkpoint, compare logits (1e-4 relative) and the greedy tokens (identical).
"""
import argparse
import json
import os

import torch
import transformers
from safetensors.torch import save_file

GREEDY_TOKENS = 16
MIN_GREEDY_MARGIN = 0.02
PROMPT_LENGTHS = [1, 5, 17, 40]

# Small but not degenerate: GQA (8 query heads, 2 KV heads), head_dim != hidden/heads, a vocab
# that is not a multiple of 64 (exercises vocab padding), intermediate divisible by 8 (tp up to 8).
COMMON = dict(
    hidden_size=64,
    intermediate_size=128,
    num_attention_heads=8,
    num_key_value_heads=2,
    head_dim=16,
    max_position_embeddings=512,
    rms_norm_eps=1e-6,
    rope_theta=10000.0,
    bos_token_id=1,
    eos_token_id=2,
)

MODELS = {
    # Llama with llama3 rope scaling and separate lm_head.
    "llama": dict(
        cls="LlamaForCausalLM", config_cls="LlamaConfig", seed=11, dtype=torch.float32,
        config=dict(COMMON, vocab_size=300, num_hidden_layers=2, tie_word_embeddings=False,
                    rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0,
                                      high_freq_factor=4.0, original_max_position_embeddings=64))),
    # Qwen2: q/k/v bias, tied embeddings.
    "qwen2": dict(
        cls="Qwen2ForCausalLM", config_cls="Qwen2Config", seed=22, dtype=torch.float32,
        config=dict({k: v for k, v in COMMON.items() if k != "head_dim"}, hidden_size=128,
                    vocab_size=256, num_hidden_layers=2, tie_word_embeddings=True)),
    # Qwen3: per-head q/k RMSNorm, explicit head_dim, three layers.
    "qwen3": dict(
        cls="Qwen3ForCausalLM", config_cls="Qwen3Config", seed=33, dtype=torch.float32,
        config=dict(COMMON, vocab_size=333, num_hidden_layers=3, tie_word_embeddings=False)),
}


def randomize(model, seed):
    """Every parameter random: N(0, 0.15) for matrices and biases, 1 + N(0, 0.1) for norm weights."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g, dtype=torch.float64)
            if "norm" in name:
                p.copy_((1.0 + 0.1 * noise).to(p.dtype))
            else:
                p.copy_((0.15 * noise).to(p.dtype))


def greedy(model, ids, steps):
    """Greedy continuation and the smallest gap between the top two logits at any step."""
    out = []
    margin = float("inf")
    cur = ids.clone()
    with torch.no_grad():
        for _ in range(steps):
            logits = model(cur.unsqueeze(0)).logits[0, -1]
            top2 = torch.topk(logits, 2).values
            margin = min(margin, float(top2[0] - top2[1]))
            nxt = int(torch.argmax(logits))
            out.append(nxt)
            cur = torch.cat([cur, torch.tensor([nxt], dtype=torch.long)])
    return torch.tensor(out, dtype=torch.long), margin


def make(name, spec, out_root):
    torch.manual_seed(spec["seed"])
    config = getattr(transformers, spec["config_cls"])(**spec["config"])
    model = getattr(transformers, spec["cls"])(config).to(spec["dtype"]).eval()
    randomize(model, spec["seed"])
    if config.tie_word_embeddings:
        assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    out = os.path.join(out_root, name)
    os.makedirs(out, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    for extra in ("generation_config.json",):
        path = os.path.join(out, extra)
        if os.path.exists(path):
            os.remove(path)  # not part of the fixture: the tests disable EOS stopping anyway

    g = torch.Generator().manual_seed(spec["seed"] + 1000)
    tensors = {}
    with torch.no_grad():
        for i, n in enumerate(PROMPT_LENGTHS):
            # Redraw a prompt whose greedy path passes near a tie: the test demands identical
            # tokens, which is only meaningful when float rounding cannot flip the choice.
            for attempt in range(100):
                ids = torch.randint(3, config.vocab_size, (n,), generator=g, dtype=torch.long)
                tokens, margin = greedy(model, ids, GREEDY_TOKENS)
                if margin >= MIN_GREEDY_MARGIN:
                    break
            else:
                raise RuntimeError(f"{name}: no prompt of length {n} with greedy margin >= {MIN_GREEDY_MARGIN}")
            logits = model(ids.unsqueeze(0)).logits[0].to(torch.float32)
            tensors[f"prompt.{i}.input_ids"] = ids
            tensors[f"prompt.{i}.logits"] = logits.contiguous()
            tensors[f"prompt.{i}.greedy"] = tokens
            print(f"{name}: prompt {i} len {n} (attempt {attempt}) logits std {float(logits.std()):.3f} "
                  f"min greedy top-2 margin {margin:.4f} greedy {tokens.tolist()}")
    save_file(tensors, os.path.join(out, "expected.safetensors"))
    with open(os.path.join(out, "versions.json"), "w") as f:
        json.dump({"torch": torch.__version__, "transformers": transformers.__version__,
                   "class": spec["cls"], "seed": spec["seed"]}, f, indent=2)
        f.write("\n")
    print(f"{name}: wrote {out}: {sorted(os.listdir(out))}")
    print(open(os.path.join(out, "config.json")).read())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/fixtures/hf")
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args()
    torch.set_num_threads(4)
    for name, spec in MODELS.items():
        if args.only and name not in args.only:
            continue
        make(name, spec, args.out)


if __name__ == "__main__":
    main()
