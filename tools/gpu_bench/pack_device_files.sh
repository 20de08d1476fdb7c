#!/usr/bin/env bash
# Fills the folders carried to the GPU machine for device_session.sh (all ignored by git):
#   .devbin/cuda.tar.xz   the cuda build's pagoda, gpu_tests, local_ranks_engine_tests and
#                         libpagoda.so
#   .devpack/libs.tar.xz  the Debian libraries they link, except glibc, libstdc++ and CUDA's own
#                         (the GPU machine runs another distribution; it has CUDA)
#   .devdata/             llama.cpp's source (pack_llama_cpp.sh) and Llama 3's tokenizer from the
#                         test data (scripts/fetch-test-data.sh)
# Run from the repository root after `cmake --build --preset cuda`. The three stay under the
# 64 MiB a device call may carry with the working tree.
set -euo pipefail
build=build/cuda
mkdir -p .devcuda .devbin .devpack .devdata
cp "$build/bin/gpu_tests" "$build/bin/local_ranks_engine_tests" "$build/bin/pagoda" \
  "$build/lib/libpagoda.so" .devcuda/
rm -f .devbin/cuda.tar.xz
tar cJf .devbin/cuda.tar.xz -C .devcuda .
libs=$(ldd "$build/bin/pagoda" "$build/lib/libpagoda.so" "$build/bin/gpu_tests" |
  awk '/=>/ {print $3}' | sort -u | grep '^/lib/x86_64' |
  grep -v -E '/(libc|libm|libpthread|libdl|librt|libstdc\+\+|libgcc_s)\.so|ld-linux' | sed 's|^/||')
[ -f .devpack/libs.tar.xz ] || tar cJf .devpack/libs.tar.xz -C / --dereference $libs
data=${PAGODA_TEST_DATA:-$HOME/.cache/pagoda/test-data}
[ -f .devdata/tok.tar.xz ] || tar cJf .devdata/tok.tar.xz -C "$data" tokenizer-llama3
[ -f .devdata/llama.cpp.tar.gz ] || bash tools/gpu_bench/pack_llama_cpp.sh .devdata/llama.cpp.tar.gz
du -ch .devbin .devpack .devdata | tail -1
