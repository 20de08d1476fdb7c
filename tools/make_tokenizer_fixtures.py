#!/usr/bin/env python3
"""Writes tests/fixtures/tokenizers/: the parity corpus, small tokenizers trained by Hugging Face
`tokenizers` (WordPiece, Unigram, SentencePiece-style BPE with byte fallback, and a BPE exercising
other normalizers/pre-tokenizers), and the ids and decodings Hugging Face `tokenizers` gives for
every corpus string with every vocabulary. Run where `tokenizers` is installed (the device machine):

    python3 tools/make_tokenizer_fixtures.py --test-data DIR [--out tests/fixtures/tokenizers]
    python3 tools/make_tokenizer_fixtures.py --test-data DIR --bench   # tokens/s, one thread

DIR is what scripts/fetch-test-data.sh fills (real vocabularies are read from there, never
committed)."""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import tokenizers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers
from tokenizers import pre_tokenizers, processors, trainers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tokenizer_corpus  # noqa: E402


def training_text(corpus):
    """Natural text only (the random Unicode soup would need a vocabulary of every character):
    characters the small vocabularies lack exercise unk and byte fallback."""
    del corpus
    return (tokenizer_corpus.SENTENCES + tokenizer_corpus.CODE) * 3


def train_wordpiece(corpus):
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                                strip_accents=None, lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=900, min_frequency=1,
                                        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    tok.train_from_iterator(training_text(corpus), trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=True)
    tok.add_tokens([AddedToken("[CUSTOM]", single_word=True)])
    return tok


def train_unigram(corpus):
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(vocab_size=1200, special_tokens=["<pad>", "</s>", "<unk>"],
                                      unk_token="<unk>")
    tok.train_from_iterator(training_text(corpus), trainer)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", tok.token_to_id("</s>"))])
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True)])
    return tok


def train_spm_bpe(corpus):
    """A Llama-2-style tokenizer: no pre-tokenizer, spaces become ▁ in the normalizer, byte
    fallback through <0xXX> tokens."""
    trainer_tok = Tokenizer(models.BPE(unk_token="<unk>"))
    trainer_tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first")
    trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=["<unk>", "<s>", "</s>"],
                                  limit_alphabet=200)
    trainer_tok.train_from_iterator(training_text(corpus), trainer)
    learned = json.loads(trainer_tok.to_str())["model"]
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for piece, _ in sorted(learned["vocab"].items(), key=lambda kv: kv[1]):
        if piece not in vocab:
            vocab[piece] = len(vocab)
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in learned["merges"]]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", byte_fallback=True,
                               fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(),
                                     decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", 1)])
    tok.add_special_tokens([AddedToken("<|user|>", rstrip=True, normalized=False, special=True)])
    return tok


def train_misc_bpe(corpus):
    """Exercises NFD + StripAccents + Lowercase + Strip, Split/Digits/Punctuation pre-tokenizers
    and a BPE with an end-of-word suffix."""
    tok = Tokenizer(models.BPE(unk_token="<unk>", end_of_word_suffix="</w>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.StripAccents(),
                                           normalizers.Lowercase(), normalizers.Strip()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"\s+"), behavior="removed"),
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.Punctuation(behavior="isolated")])
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=["<unk>", "<bos>"],
                                  end_of_word_suffix="</w>", limit_alphabet=300)
    tok.train_from_iterator(training_text(corpus), trainer)
    tok.decoder = decoders.BPEDecoder(suffix="</w>")
    tok.post_processor = processors.TemplateProcessing(
        single="<bos> $A", pair="<bos> $A $B", special_tokens=[("<bos>", tok.token_to_id("<bos>"))])
    return tok


def gpt2_from_files(test_data):
    """As transformers builds GPT2TokenizerFast from encoder.json + vocab.bpe."""
    gpt2 = os.path.join(test_data, "gpt2")
    bpe = models.BPE.from_file(os.path.join(gpt2, "encoder.json"), os.path.join(gpt2, "vocab.bpe"))
    tok = Tokenizer(bpe)
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return tok


def vocabularies(test_data, corpus, out):
    """(name, how the test builds it, Tokenizer)."""
    result = []
    for name in ["llama3", "qwen3"]:
        path = os.path.join(test_data, f"tokenizer-{name}", "tokenizer.json")
        result.append((name, f"test-data:tokenizer-{name}/tokenizer.json", Tokenizer.from_file(path)))
    result.append(("gpt2", "test-data-gpt2-files:gpt2/encoder.json,gpt2/vocab.bpe", gpt2_from_files(test_data)))
    if out is None:
        return result
    os.makedirs(os.path.join(out, "trained"), exist_ok=True)
    for name, train in [("wordpiece", train_wordpiece), ("unigram", train_unigram),
                        ("spm-bpe", train_spm_bpe), ("misc-bpe", train_misc_bpe)]:
        tok = train(corpus)
        rel = f"trained/{name}.tokenizer.json"
        tok.save(os.path.join(out, rel), pretty=False)
        result.append((name, f"fixture:{rel}", Tokenizer.from_file(os.path.join(out, rel))))
    return result


def expected_cases(tok, corpus):
    cases = []
    for text in corpus:
        with_special = tok.encode(text, add_special_tokens=True).ids
        plain = tok.encode(text, add_special_tokens=False).ids
        cases.append({
            "ids": with_special,
            "ids_no_special": plain,
            "decode": tok.decode(plain, skip_special_tokens=False),
            "decode_skip_special": tok.decode(with_special, skip_special_tokens=True),
        })
    return cases


def bench(test_data, corpus):
    text = "\n".join(corpus)
    text = text * max(1, (2 << 20) // len(text.encode("utf-8")))
    rows = []
    for name, _, tok in vocabularies(test_data, corpus, None):
        tok.encode(text[:10000])
        best = None
        for _ in range(3):
            start = time.perf_counter()
            n = len(tok.encode(text, add_special_tokens=False).ids)
            elapsed = time.perf_counter() - start
            best = elapsed if best is None else min(best, elapsed)
        rows.append({"vocabulary": name, "tokens": n, "bytes": len(text.encode("utf-8")),
                     "seconds": best, "tokens_per_s": n / best})
        print(f"{name:8s} {n:9d} tokens {n / best / 1e6:6.2f} M tokens/s "
              f"{len(text.encode('utf-8')) / best / 1e6:6.2f} MB/s (1 thread)")
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--test-data", required=True)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "tokenizers"))
    parser.add_argument("--bench", action="store_true")
    parser.add_argument("--bench-json")
    args = parser.parse_args()
    corpus = tokenizer_corpus.build(args.test_data)
    if args.bench:
        rows = bench(args.test_data, corpus)
        if args.bench_json:
            with open(args.bench_json, "w") as f:
                json.dump({"tokenizers_version": tokenizers.__version__, "rows": rows}, f, indent=1)
        return
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "corpus.json"), "w", encoding="utf-8") as f:
        json.dump(corpus, f, ensure_ascii=False, indent=0)
    os.makedirs(os.path.join(args.out, "expected"), exist_ok=True)
    for name, source, tok in vocabularies(args.test_data, corpus, args.out):
        data = {"vocabulary": name, "tokenizer": source, "tokenizers_version": tokenizers.__version__,
                "corpus": "corpus.json", "cases": expected_cases(tok, corpus)}
        with open(os.path.join(args.out, "expected", f"{name}.json"), "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, separators=(",", ":"))
        print(f"{name}: {len(corpus)} cases")


if __name__ == "__main__":
    main()
