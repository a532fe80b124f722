#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Fetch MNIST into the per-user cache (or --dir DIR); see python/digit/fetch.py.

The implementation lives in the Python package, which installs and ships it;
this entry point for the shell scripts and a checkout's `digitc` loads that
file directly, so it needs neither numpy nor an installed package.
"""
import importlib.util
import os
import sys

_FETCH = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      os.pardir, "python", "digit", "fetch.py")


def _load():
    spec = importlib.util.spec_from_file_location("digit_fetch", _FETCH)
    if spec is None or spec.loader is None:
        sys.exit("fetch_mnist: cannot load %s" % _FETCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if __name__ == "__main__":
    sys.exit(_load().main())
