# SPDX-License-Identifier: MIT
# Sourced by setup.sh, test.sh and demo.sh: where the project's Python
# environment lives. Everything Python-side runs with $PY, never with the
# system interpreter, which stock Debian keeps closed to pip (PEP 668).
DIGIT_VENV="${DIGIT_VENV:-$PWD/build/venv}"
PY="$DIGIT_VENV/bin/python"
