#!/usr/bin/env bash
# Installs Pagoda's build and test dependencies from Debian 12 packages. Safe to re-run.
set -euo pipefail
packages=(
  build-essential cmake ninja-build ccache git pkg-config
  libgtest-dev libgmock-dev
  nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  libdnnl-dev ocl-icd-opencl-dev libopenblas-dev libpcre2-dev libicu-dev libcpp-httplib-dev
  libopenmpi-dev openmpi-bin
  python3 python3-prometheus-client
)
# npm fetches the test data (scripts/fetch-test-data.sh); a Node.js installed another way will do.
command -v npm >/dev/null || packages+=(npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
