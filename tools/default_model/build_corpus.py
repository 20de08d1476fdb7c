#!/usr/bin/env python3
"""Builds the default model's corpus from public-domain text in Debian packages.

The King James Bible comes from `bible-kjv-text`, printed whole, one verse per line, by the `bible`
program of `bible-kjv` (apt-get install bible-kjv). Each chapter is one document: its verses, one per
line, without the verse references. A fixed seed picks 5% of the chapters for the held-out split.

    python3 tools/default_model/build_corpus.py OUT_DIR   # writes train.jsonl, heldout.jsonl

Each output line is {"id": "Ge1", "text": "In the beginning God created ...\\n..."}.
"""
import json
import random
import re
import subprocess
import sys
from pathlib import Path

SEED = 20261123
HELDOUT_FRACTION = 0.05
VERSE = re.compile(r"^(\S+?)(\d+):(\d+) (.*)$")


def chapters():
    """Yields (chapter id, [verse texts]) in canonical order."""
    out = subprocess.run(["bible", "-f", "Gen1:1-Rev22:21"], check=True, capture_output=True,
                         text=True, env={"COLUMNS": "100000"}).stdout
    current, verses = None, []
    for line in out.splitlines():
        m = VERSE.match(line)
        if not m:
            raise SystemExit(f"unexpected line from `bible -f`: {line!r}")
        chapter = m.group(1) + m.group(2)
        if chapter != current and verses:
            yield current, verses
            verses = []
        current = chapter
        verses.append(m.group(4).strip())
    if verses:
        yield current, verses


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    out_dir = Path(sys.argv[1])
    out_dir.mkdir(parents=True, exist_ok=True)
    docs = [{"id": cid, "text": "\n".join(v) + "\n"} for cid, v in chapters()]
    rng = random.Random(SEED)
    heldout = set(rng.sample(range(len(docs)), round(len(docs) * HELDOUT_FRACTION)))
    counts = {"train": 0, "heldout": 0}
    with open(out_dir / "train.jsonl", "w") as train, open(out_dir / "heldout.jsonl", "w") as held:
        for i, doc in enumerate(docs):
            split = "heldout" if i in heldout else "train"
            (held if split == "heldout" else train).write(json.dumps(doc) + "\n")
            counts[split] += 1
    print(f"{len(docs)} chapters: {counts['train']} train, {counts['heldout']} held out -> {out_dir}")


if __name__ == "__main__":
    main()
