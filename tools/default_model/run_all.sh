#!/usr/bin/env bash
# Builds the default model end to end: corpus (here, from the Debian packages) -> tokenizer ->
# training (a CUDA GPU) -> transformers fixture. Usage:
#   python3 tools/default_model/build_corpus.py .devdata/corpus        # on a machine with bible-kjv
#   bash tools/default_model/run_all.sh .devdata/corpus OUT_DIR         # on the GPU machine
# OUT_DIR/kjv-llama is the model; OUT_DIR/greedy.json the fixture (tests/fixtures/default_model),
# OUT_DIR/train_log.json and OUT_DIR/samples.json feed the model's README.
set -euo pipefail
corpus=$1 out=$2
here=$(dirname "$0")
mkdir -p "$out/kjv-llama"
export PYTHONUNBUFFERED=1
python3 "$here/train_tokenizer.py" "$corpus" "$out/kjv-llama"
python3 "$here/train.py" "$corpus" "$out/kjv-llama" --log "$out/train_log.json" "${@:3}"
python3 "$here/make_fixture.py" "$out/kjv-llama" "$out/greedy.json" --samples "$out/samples.json"
rm -f "$out"/kjv-llama/special_tokens_map.json; ls -la "$out" "$out/kjv-llama"
