#!/usr/bin/env python3
"""Trains the default model, a small LlamaForCausalLM, on the corpus of build_corpus.py.

    python3 tools/default_model/train.py CORPUS_DIR MODEL_DIR [--steps N] [--log LOG.json]

MODEL_DIR must already hold the tokenizer (train_tokenizer.py). Writes config.json,
model.safetensors (bf16) and generation_config.json there, and the training log (losses, time,
parameter count) to LOG.json. Runs on one CUDA GPU (a few minutes on an H100); fixed seeds.

The corpus is small (about a million tokens) for 7 M parameters, so the model overfits after a few
epochs: the held-out loss is measured every EVAL_EVERY steps and the weights with the lowest one
are kept (early stopping).

Training examples are 256 tokens: `<s>` followed by 255 tokens of the train stream starting at a
verse, so that a prompt encoded with its `<s>` looks like training data. Chapters end with `</s>`.
"""
import argparse
import json
import math
import random
import time
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

SEED = 20261123
SEQ = 256
BATCH = 64
EVAL_EVERY = 100


def encode_split(tok, path):
    """The split as one token stream (chapters ended by </s>) and the offsets where verses start."""
    stream, starts = [], []
    for line in open(path):
        text = json.loads(line)["text"]
        for verse in text.splitlines(keepends=True):
            starts.append(len(stream))
            stream.extend(tok(verse, add_special_tokens=False)["input_ids"])
        stream.append(tok.eos_token_id)
    return torch.tensor(stream, dtype=torch.long), torch.tensor(starts, dtype=torch.long)


def windows(stream, starts, bos, idx):
    """Examples [<s>, stream[s : s + SEQ - 1]] for the verse starts at indices idx."""
    offs = starts[idx].clamp(max=len(stream) - (SEQ - 1))
    rows = torch.stack([stream[o:o + SEQ - 1] for o in offs.tolist()])
    return torch.cat([torch.full((len(idx), 1), bos, dtype=torch.long), rows], dim=1)


@torch.no_grad()
def evaluate(model, stream, bos, device):
    """Mean next-token loss over consecutive non-overlapping windows of the whole split."""
    model.eval()
    n = (len(stream) - 1) // (SEQ - 1)
    starts = torch.arange(n) * (SEQ - 1)
    total, count = 0.0, 0
    for b in range(0, n, BATCH):
        x = windows(stream, starts, bos, torch.arange(b, min(b + BATCH, n))).to(device)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(input_ids=x).logits.float()
        loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.size(-1)),
                                                 x[:, 1:].reshape(-1), reduction="sum")
        total += loss.item()
        count += x[:, 1:].numel()
    model.train()
    return total / count


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("model_dir")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--log", default=None)
    args = ap.parse_args()
    torch.manual_seed(SEED)
    random.seed(SEED)
    device = "cuda"
    out = Path(args.model_dir)
    tok = PreTrainedTokenizerFast.from_pretrained(out)
    train, train_starts = encode_split(tok, Path(args.corpus) / "train.jsonl")
    held, _ = encode_split(tok, Path(args.corpus) / "heldout.jsonl")
    print(f"train {len(train)} tokens, held out {len(held)} tokens", flush=True)

    config = LlamaConfig(
        vocab_size=len(tok), hidden_size=256, intermediate_size=768, num_hidden_layers=8,
        num_attention_heads=4, num_key_value_heads=2, head_dim=64, max_position_embeddings=512,
        rope_theta=10000.0, rms_norm_eps=1e-5, tie_word_embeddings=True,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    model = LlamaForCausalLM(config).to(device)
    params = sum(p.numel() for p in model.parameters())
    print(f"{params} parameters", flush=True)

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), fused=True)
    warmup = 200
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) *
        (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, s / args.steps)))))
    gen = torch.Generator().manual_seed(SEED)
    log = {"steps": [], "parameters": params, "seq": SEQ, "batch": BATCH, "lr": args.lr,
           "train_tokens": len(train), "heldout_tokens": len(held)}
    start = time.time()
    best = {"heldout_loss": float("inf")}
    best_state = None
    for step in range(1, args.steps + 1):
        idx = torch.randint(len(train_starts), (BATCH,), generator=gen)
        x = windows(train, train_starts, tok.bos_token_id, idx).to(device, non_blocking=True)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(input_ids=x, labels=x).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % EVAL_EVERY == 0 or step == args.steps:
            held_loss = evaluate(model, held, tok.bos_token_id, device)
            entry = {"step": step, "batch_loss": round(loss.item(), 4),
                     "heldout_loss": round(held_loss, 4), "seconds": round(time.time() - start, 1)}
            log["steps"].append(entry)
            print(json.dumps(entry), flush=True)
            if held_loss < best["heldout_loss"]:
                best = entry
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    log["kept_step"] = best["step"]
    log["train_loss"] = evaluate(model, train, tok.bos_token_id, device)
    log["heldout_loss"] = evaluate(model, held, tok.bos_token_id, device)
    log["seconds"] = round(time.time() - start, 1)
    print(f"kept step {best['step']}: train loss {log['train_loss']:.4f}, held-out loss {log['heldout_loss']:.4f}, "
          f"{log['seconds']} s", flush=True)

    model.generation_config.do_sample = True
    model.generation_config.temperature = 0.7
    model.generation_config.top_p = 0.9
    model.to(torch.bfloat16).save_pretrained(out)
    if args.log:
        Path(args.log).write_text(json.dumps(log, indent=1) + "\n")


if __name__ == "__main__":
    main()
