#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what libdigit needs and a fresh Debian machine may lack: the
# native libraries and tools (OpenBLAS, libpng, libjpeg-turbo, zlib, pkg-config, CMake,
# python3-venv, libabigail for the ABI check, Chromium and its WebDriver for the server's browser test)
# through apt, and the Python packages the binding, its tests
# and its type check use into a virtual environment, build/venv (see
# scripts/venv.sh), never into the system interpreter. Installs only what
# is missing. Torch is optional: its tests skip without it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh

apt_install() {
  echo "setup: installing $*" >&2
  local sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "$@" >/dev/null
}

need=()
for pkg in libopenblas-dev libpng-dev libjpeg62-turbo-dev zlib1g-dev pkg-config cmake abigail-tools chromium chromium-driver; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
# Debian's python3 has venv only with python3-venv (ensurepip); another
# interpreter first on PATH (pyenv) may carry its own.
python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
if ((${#need[@]})); then apt_install "${need[@]}"; fi

if [ ! -x "$PY" ]; then
  echo "setup: creating the virtual environment $DIGIT_VENV" >&2
  python3 -m venv "$DIGIT_VENV"
fi
py=()
for module in numpy pytest safetensors PIL mypy setuptools wheel; do
  "$PY" -c "import $module" 2>/dev/null || py+=("$module")
done
if ((${#py[@]})); then
  pkgs=("${py[@]/#PIL/pillow}")
  echo "setup: installing Python packages ${pkgs[*]} into $DIGIT_VENV" >&2
  "$PY" -m pip install -q --disable-pip-version-check "${pkgs[@]}"
fi

# The server tests' packages: one list, in tests/server/requirements.txt
# (distribution names, which is what importlib.metadata looks up).
missing=$("$PY" - tests/server/requirements.txt <<'PY'
import importlib.metadata, sys
for line in open(sys.argv[1]):
    name = line.split("#")[0].strip()
    if name:
        try:
            importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            print(name)
PY
)
if [ -n "$missing" ]; then
  echo "setup: installing the server tests' Python packages:" $missing "into $DIGIT_VENV" >&2
  "$PY" -m pip install -q --disable-pip-version-check -r tests/server/requirements.txt
fi
