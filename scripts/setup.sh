#!/usr/bin/env bash
# Installs what libdigit needs and a fresh Debian machine may lack: the
# native libraries (OpenBLAS, libpng, libjpeg-turbo, zlib, pkg-config) and
# the Python packages the binding's tests use. Installs only what is missing.
set -euo pipefail

need=()
for pkg in libopenblas-dev libpng-dev libjpeg62-turbo-dev zlib1g-dev pkg-config; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if ((${#need[@]})); then
  echo "setup: installing ${need[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
fi

py=()
python3 -c 'import numpy' 2>/dev/null || py+=(numpy)
python3 -c 'import pytest' 2>/dev/null || py+=(pytest)
python3 -c 'import safetensors' 2>/dev/null || py+=(safetensors)
if ((${#py[@]})); then
  echo "setup: installing Python packages ${py[*]}" >&2
  python3 -m pip install -q "${py[@]}"
fi
