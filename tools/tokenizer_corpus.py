"""The tokenizer parity corpus: llama.cpp's vocabulary test strings plus generated text covering
multilingual scripts, emoji, code, whitespace runs, numbers, contractions, special tokens inside
text, Unicode normalisation edge cases, empty and very long strings. Deterministic (fixed seed), so
every run writes the same corpus."""

import glob
import os
import random

SEPARATOR = "\n__ggml_vocab_test__\n"

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Hello, world! How are you doing today?",
    "I'm sure you'll see they've done what he'd said: it's theirs, isn't it?",
    "I'M SURE YOU'LL SEE THEY'VE DONE WHAT HE'D SAID",
    "Le cœur a ses raisons que la raison ne connaît point.",
    "Über den Wolken muss die Freiheit wohl grenzenlos sein. Äpfel, Öl, Straße.",
    "¿Dónde está la biblioteca? ¡Qué día tan bonito!",
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Ελληνικά: Ξεσκεπάζω την ψυχοφθόρα βδελυγμία.",
    "日本語のテキストを正しくトークン化できますか？東京は晴れです。",
    "中文分词测试：我爱自然语言处理，今天天气很好。",
    "한국어 문장도 잘 처리해야 합니다. 안녕하세요!",
    "हिन्दी में एक वाक्य: भारत एक विशाल देश है।",
    "العربية: مرحبا بالعالم، كيف حالك اليوم؟",
    "עברית: שלום עולם, מה שלומך?",
    "ภาษาไทย: สวัสดีครับ ยินดีต้อนรับ",
    "Tiếng Việt: Xin chào thế giới, hôm nay trời đẹp quá.",
    "Türkçe: Şişli'de ığdır çiçekleri gördüm.",
    "Polski: Zażółć gęślą jaźń.",
    "Kiswahili: Habari ya asubuhi, rafiki yangu.",
    "ქართული ენა ლამაზია",
    "Հայերեն լեզու",
    "தமிழ் மொழி மிகவும் பழமையானது",
    "Emoji: 🦙🚀👍🏽 👨‍👩‍👧‍👦 🇫🇷🇯🇵 ❤️‍🔥 😀😃😄",
    "Math: ∑_{i=1}^{n} i² = n(n+1)(2n+1)/6, ∫₀^∞ e^{-x} dx = 1, √2 ≈ 1.41421356",
    "Prices: $1,234.56 €99,99 ¥10000 £3.50 — 50% off!!!",
    "Numbers 1 12 123 1234 12345 123456 1234567 3.14159 -42 1e10 0x1F 007",
    "Dates 2024-01-15T10:30:00Z, 15/01/2024, Jan 15th, 1999.",
    "URL https://example.com/path?query=1&x=y#frag and mail a.b@example.org",
    "Tabs\tand\tnewlines\nmixed\r\nwith CRLF\rand CR.",
    "   leading and trailing spaces   ",
    "multiple     spaces      between        words",
    "ﬁ ligature, ① circled, ｆｕｌｌｗｉｄｔｈ, Ⅻ roman, ½ fraction, ℌ",
    "combining: e\u0301 vs \u00e9, A\u030a vs \u00c5, n\u0303",
    "zero\u200bwidth\u200cjoiner\u200dand\ufeffbom",
    "non\u00a0breaking\u2003em\u2009thin\u3000ideographic spaces",
    "control \u0001\u0002\u0007 chars and \u007f delete",
    "Mixed日本語andEnglish混在text123テスト",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "!!!???...,,,;;;:::---___===+++***&&&^^^%%%$$$###@@@",
    "'s 't 're 've 'm 'll 'd 'S 'T 'RE 'VE 'M 'LL 'D",
    "don't won't can't shouldn't y'all ma'am o'clock",
]

CODE = [
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
    "#include <cstdio>\nint main() {\n\tprintf(\"%d\\n\", 42);\n\treturn 0;\n}\n",
    "{\"name\": \"pagoda\", \"version\": [1, 2, 3], \"ok\": true, \"nested\": {\"x\": null}}",
    "<html><body class=\"main\"><p>Hello &amp; welcome</p></body></html>",
    "SELECT id, name FROM users WHERE age >= 21 ORDER BY name DESC;",
    "const f = (x) => x.map(v => v * 2).filter(Boolean); // arrow functions",
    "fn main() { let v: Vec<u32> = (0..10).collect(); println!(\"{:?}\", v); }",
    "    indented with four spaces\n        and eight\n\t\ttabs too\n",
    "x = [i**2 for i in range(10) if i % 2 == 0]  # list comprehension",
    "if (a && b || !c) { return a->b.c[0]; } else { i++; j--; k <<= 2; }",
]

SPECIALS = [
    "<|begin_of_text|>Hello<|end_of_text|>",
    "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nhi<|im_end|>",
    "<think>\nreasoning here\n</think>\n\nanswer",
    "<|endoftext|> after end of text <|endoftext|><|endoftext|>",
    "text<|im_start|>glued<|im_end|>text",
    "[CLS] bert style [SEP] tokens [MASK] and [PAD] [UNK]",
    "<s> sentencepiece </s> <unk> <pad>",
    "<|fim_prefix|>def f():<|fim_suffix|>\n<|fim_middle|>",
    "a <|user|> b <mask> c [CUSTOM] d [CUSTOM]e",
]

UNICODE_BLOCKS = [
    (0x20, 0x7E), (0xA0, 0x17F), (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x6FF), (0x900, 0x97F),
    (0xE00, 0xE7F), (0x1100, 0x11FF), (0x2000, 0x206F), (0x2190, 0x22FF), (0x3040, 0x30FF),
    (0x4E00, 0x4FFF), (0xAC00, 0xAD00), (0xFF00, 0xFFEF), (0x1F300, 0x1F64F), (0x1F900, 0x1F9FF),
    (0x10000, 0x1007F), (0x1D400, 0x1D4FF),
]


def llama_cpp_strings(test_data):
    strings = set()
    for path in sorted(glob.glob(os.path.join(test_data, "llama.cpp", "models", "*.inp"))):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for part in text.split(SEPARATOR):
            strings.add(part.removesuffix("\n__ggml_vocab_test__"))
    return sorted(strings)


def random_unicode(rng, length):
    chars = []
    for _ in range(length):
        lo, hi = rng.choice(UNICODE_BLOCKS)
        chars.append(chr(rng.randint(lo, hi)))
        if rng.random() < 0.15:
            chars.append(rng.choice([" ", "  ", "\n", "\t", " \n "]))
    return "".join(chars)


def build(test_data):
    rng = random.Random(20261123)
    corpus = llama_cpp_strings(test_data)
    base = SENTENCES + CODE + SPECIALS
    corpus += base
    # Variants that move word boundaries: leading/trailing spaces, newlines, case.
    for s in SENTENCES:
        corpus += [" " + s, s + " ", "\n" + s + "\n", s.upper(), s.lower(), "  " + s.replace(" ", "  ")]
    # Whitespace runs of every kind and length.
    for ws in [" ", "\t", "\n", "\r\n", "\u00a0", "\u3000"]:
        for n in [1, 2, 3, 5, 8, 17]:
            corpus += [ws * n, "a" + ws * n + "b", ws * n + "word", "word" + ws * n]
    # Digit runs (models split digits 1-3 at a time or individually).
    for n in range(1, 20):
        corpus.append("".join(str((i * 7 + n) % 10) for i in range(n)))
    # Pairs of sentences from different scripts, and specials inside ordinary text.
    for _ in range(60):
        a, b = rng.sample(base, 2)
        corpus.append(a + rng.choice([" ", "", "\n", "\n\n", "  "]) + b)
    # Random Unicode soup.
    for _ in range(120):
        corpus.append(random_unicode(rng, rng.randint(1, 60)))
    # Empty, single characters and very long strings.
    corpus += ["", " ", "a", "é", "🦙", "\n"]
    corpus.append(" ".join(SENTENCES) * 3)
    corpus.append("".join(CODE) * 4)
    corpus.append(random_unicode(rng, 3000))
    # Deduplicate, keeping the first occurrence.
    seen, unique = set(), []
    for s in corpus:
        if s not in seen:
            seen.add(s)
            unique.append(s)
    return unique
