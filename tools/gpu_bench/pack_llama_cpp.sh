#!/usr/bin/env bash
# Packs llama.cpp's source (the peer of the GPU benchmarks) from the npm package node-llama-cpp,
# which ships it as a git bundle, into OUT.tar.gz for carrying to the GPU machine:
#   bash tools/gpu_bench/pack_llama_cpp.sh .devdata/llama.cpp.tar.gz
# Everything but the vocabulary files, docs, media and tests (not needed to build or convert).
set -euo pipefail
out=$(realpath -m "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent node-llama-cpp@3.22.1 >/dev/null && tar xzf node-llama-cpp-*.tgz)
git clone --quiet --no-checkout "$work/package/llama/gitRelease.bundle" "$work/llama.cpp"
cd "$work/llama.cpp"
git archive --prefix=llama.cpp/ HEAD -- . ':(exclude)models' ':(exclude)docs' ':(exclude)media' \
  ':(exclude).github' ':(exclude)tests' | gzip > "$out"
echo "llama.cpp $(git rev-parse --short HEAD) -> $out ($(du -h "$out" | cut -f1))"
