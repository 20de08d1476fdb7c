#!/usr/bin/env bash
# Builds plugins/example the way an out-of-tree project would: installs the release build into a
# temporary prefix, configures the plugin against that prefix only (find_package(pagoda)), and
# checks that the installed `pagoda` lists both of the plugin's architectures, the lazy one as
# "(lazy)". Exits non-zero on any failure. Usage: .ci/build_example_plugin.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${1:-build/release}
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  echo "CI: $build_dir is not configured; configuring the release preset" >&2
  cmake --preset release
fi
cmake --build "$build_dir"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cmake --install "$build_dir" --prefix "$prefix"
# The plugin sees nothing of the source tree: only the installed package.
cmake -S plugins/example -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_PACKAGE_NO_SYSTEM_PACKAGE_REGISTRY=ON
cmake --build "$work/build"

plugin=$work/build/libpagoda_example_plugin.so
if ! listing=$("$prefix/bin/pagoda" --plugin "$plugin" models); then
  echo "CI: \`pagoda --plugin $plugin models\` failed" >&2
  exit 1
fi
echo "$listing"

# `pagoda models` prints "<architecture>  <capabilities>[ (lazy)]".
fail=0
if ! grep -Eq '^ExampleForCausalLM +generate$' <<<"$listing"; then
  echo "CI: ExampleForCausalLM is not listed as an eager text-generation model" >&2
  fail=1
fi
if ! grep -Eq '^ExampleLazyForCausalLM +generate \(lazy\)$' <<<"$listing"; then
  echo "CI: ExampleLazyForCausalLM is not listed as a lazy text-generation model" >&2
  fail=1
fi
if [ "$fail" -ne 0 ]; then exit 1; fi

# The plugin's model is real: the tiny Llama fixture, relabelled for each of its architectures,
# passes `pagoda check` through it (eagerly registered, then lazily loaded).
for arch in ExampleForCausalLM ExampleLazyForCausalLM; do
  model=$work/model-$arch
  mkdir -p "$model"
  cp tests/fixtures/hf/llama/model.safetensors "$model/"
  sed "s/\"LlamaForCausalLM\"/\"$arch\"/" tests/fixtures/hf/llama/config.json > "$model/config.json"
  if ! "$prefix/bin/pagoda" --plugin "$plugin" check "$model"; then
    echo "CI: the plugin's $arch does not accept the Llama fixture checkpoint" >&2
    exit 1
  fi
  # Plugins load in every rank: under mpirun at tensor_parallel_size 2 the plugin's model gives the
  # single-process greedy tokens.
  if command -v mpirun >/dev/null; then
    generate=("$prefix/bin/pagoda" --plugin "$plugin" generate "$model" --skip-tokenizer-init
              --prompt-token-ids 1,2,3,4,5 --prompt-token-ids 7,8,9 --temperature 0 --max-tokens 12
              --dtype float32 --output json)
    single=$("${generate[@]}" 2>/dev/null | grep -v '^No model')
    parallel=$(OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
      mpirun -np 2 --oversubscribe "${generate[@]}" --tensor-parallel-size 2 2>/dev/null)
    if [ -z "$single" ] || [ "$single" != "$parallel" ]; then
      echo "CI: $arch under mpirun -np 2 --tensor-parallel-size 2 differs from one process" >&2
      diff <(echo "$single") <(echo "$parallel") >&2 || true
      exit 1
    fi
    echo "CI: $arch at tensor_parallel_size 2 (mpirun -np 2) equals one process"
  fi
  # The same with the ranks Pagoda starts itself: the started rank loads the plugin too.
  generate=("$prefix/bin/pagoda" --plugin "$plugin" generate "$model" --skip-tokenizer-init
            --prompt-token-ids 1,2,3,4,5 --prompt-token-ids 7,8,9 --temperature 0 --max-tokens 12
            --dtype float32 --output json)
  single=$("${generate[@]}" 2>/dev/null | grep -v '^No model')
  started=$("${generate[@]}" --tensor-parallel-size 2 --distributed-executor-backend mp 2>/dev/null)
  if [ -z "$single" ] || [ "$single" != "$started" ]; then
    echo "CI: $arch at tensor_parallel_size 2 (ranks Pagoda starts) differs from one process" >&2
    diff <(echo "$single") <(echo "$started") >&2 || true
    exit 1
  fi
  echo "CI: $arch at tensor_parallel_size 2 (--distributed-executor-backend mp) equals one process"
done
echo "CI: example plugin built against the installed package; both architectures registered and checked"
