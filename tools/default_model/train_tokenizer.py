#!/usr/bin/env python3
"""Trains the default model's byte-level BPE tokenizer with Hugging Face `tokenizers`.

    python3 tools/default_model/train_tokenizer.py CORPUS_DIR MODEL_DIR

Reads CORPUS_DIR/train.jsonl (build_corpus.py) and writes MODEL_DIR/tokenizer.json,
tokenizer_config.json and special_tokens_map.json. GPT-2's byte-level scheme: every byte is in the
vocabulary, so any text encodes; `<s>` (id 0) is added in front of every encoded text, `</s>` (id 1)
ends a document.
"""
import json
import sys
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

VOCAB_SIZE = 4096
BOS, EOS = "<s>", "</s>"


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    corpus, out = Path(sys.argv[1]), Path(sys.argv[2])
    texts = [json.loads(line)["text"] for line in open(corpus / "train.jsonl")]

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=[BOS, EOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, 0), (EOS, 1)])
    assert tok.token_to_id(BOS) == 0 and tok.token_to_id(EOS) == 1

    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=BOS, eos_token=EOS,
                                   model_max_length=512, clean_up_tokenization_spaces=False)
    fast.save_pretrained(out)
    n = sum(len(tok.encode(t).ids) for t in texts)
    print(f"tokenizer: {tok.get_vocab_size()} tokens; train split {n} tokens")


if __name__ == "__main__":
    main()
