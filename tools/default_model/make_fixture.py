#!/usr/bin/env python3
"""Greedy continuations of the default model by transformers: the fixture Pagoda must equal.

    python3 tools/default_model/make_fixture.py MODEL_DIR OUT.json [--samples SAMPLES.json]

Loads MODEL_DIR's bf16 weights upcast to float32 on the CPU (the dtype the test runs Pagoda in),
encodes each prompt with its `<s>`, and takes MAX_NEW argmax tokens, recomputing the whole sequence
each step (no cache: the plainest reference). `min_margin` is the smallest gap between the top two
logits over the steps, to show how far each continuation is from a tie. --samples also writes a few
sampled continuations (temperature 0.7, top-p 0.9, seeded) for the model's README.
"""
import argparse
import json

import torch
from transformers import AutoTokenizer, LlamaForCausalLM

PROMPTS = [
    "In the beginning God",
    "And God said,",
    "The LORD is my shepherd;",
    "Blessed are the",
    "For God so loved the world,",
    "And it came to pass, when",
    "Now the serpent was",
    "The quick brown fox",
]
MAX_NEW = 32


@torch.no_grad()
def greedy(model, ids):
    out, margins = list(ids), []
    for _ in range(MAX_NEW):
        logits = model(input_ids=torch.tensor([out])).logits[0, -1].double()
        top2 = torch.topk(logits, 2)
        margins.append((top2.values[0] - top2.values[1]).item())
        out.append(int(top2.indices[0]))
    return out[len(ids):], min(margins)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("out")
    ap.add_argument("--samples")
    args = ap.parse_args()
    tok = AutoTokenizer.from_pretrained(args.model_dir)
    model = LlamaForCausalLM.from_pretrained(args.model_dir, dtype=torch.float32).eval()
    cases = []
    for prompt in PROMPTS:
        ids = tok(prompt)["input_ids"]
        out_ids, margin = greedy(model, ids)
        cases.append({"prompt": prompt, "prompt_token_ids": ids, "output_token_ids": out_ids,
                      "output_text": tok.decode(out_ids, skip_special_tokens=True),
                      "min_margin": round(margin, 4)})
        print(json.dumps(cases[-1]["prompt"] + cases[-1]["output_text"]), f"margin {margin:.3f}")
    fixture = {"source": "transformers LlamaForCausalLM, float32 on CPU, greedy, no KV cache",
               "max_new_tokens": MAX_NEW, "cases": cases}
    with open(args.out, "w") as f:
        json.dump(fixture, f, indent=1, ensure_ascii=False)
        f.write("\n")
    if args.samples:
        torch.manual_seed(0)
        samples = []
        for prompt in PROMPTS[:4]:
            x = tok(prompt, return_tensors="pt")
            y = model.generate(**x, do_sample=True, temperature=0.7, top_p=0.9, max_new_tokens=48)
            samples.append(tok.decode(y[0], skip_special_tokens=True))
        with open(args.samples, "w") as f:
            json.dump(samples, f, indent=1, ensure_ascii=False)
            f.write("\n")


if __name__ == "__main__":
    main()
