#!/usr/bin/env bash
# On the GPU machine: builds llama.cpp's benchmark tools for the H100 from the packed source
# (pack_llama_cpp.sh). Usage: bash tools/gpu_bench/build_llama_cpp.sh TARBALL DEST
set -euo pipefail
tarball=$1 dest=$2
mkdir -p "$dest" && tar xzf "$tarball" -C "$dest"
cd "$dest/llama.cpp"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES=90a -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF \
  -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF >/dev/null
cmake --build build -j"$(nproc)" --target llama-bench llama-batched-bench
ls build/bin
