# SPDX-License-Identifier: MIT
"""The wheel works with the checkout gone.

A copy of the checkout builds the wheel (pip wheel, the real build step:
make, then libdigit and the shipped model bundled); the copy is deleted;
the wheel goes into a fresh virtual environment; and from an unrelated
folder, with no DIGIT_* variables, the package loads its bundled library
and model and classifies an MNIST test digit saved as PNG."""

import os
import shutil
import subprocess
import sys
import venv

import pytest

import digit
from conftest import REPO

# What building the wheel reads from a checkout.
CHECKOUT_PARTS = ["include", "csrc", "mk", "models", "Makefile", "libdigit.map",
                  "digit.pc.in", "build"]


def copy_checkout(dest):
    for part in CHECKOUT_PARTS:
        src = REPO / part
        if src.is_dir():
            # build/ as well, with its times kept, so make has nothing to redo.
            ignore = shutil.ignore_patterns("venv", "asan", "tsan", "fuzz", "stage", "prefix",
                                            "tests", "demo")
            shutil.copytree(src, dest / part, symlinks=True, ignore=ignore)
        elif src.exists():
            shutil.copy2(src, dest / part)
    shutil.copytree(REPO / "python", dest / "python", symlinks=True,
                    ignore=shutil.ignore_patterns("tests", "examples", "build", "_lib", "_data",
                                                  "__pycache__", "*.egg-info"))


def clean_env():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DIGIT_") and k not in ("PYTHONPATH", "LD_LIBRARY_PATH")}
    env.pop("VIRTUAL_ENV", None)
    return env


def test_wheel_from_a_deleted_checkout(tmp_path, png_digits):
    pytest.importorskip("setuptools")
    # An MNIST digit the shipped model gets right, saved as PNG outside the checkout.
    with digit.Model.default() as m:
        path, label = next((p, y) for p, y in png_digits if m.classify(p) == y)
    image = tmp_path / "mnist-digit.png"
    shutil.copy(path, image)

    src, wheels = tmp_path / "checkout", tmp_path / "wheels"
    copy_checkout(src)
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                        "-q", "-w", str(wheels), str(src / "python")],
                       capture_output=True, text=True, timeout=600, env=clean_env())
    assert r.returncode == 0, r.stdout + r.stderr
    (wheel,) = wheels.glob("digit-*.whl")
    assert "-py3-none-" in wheel.name  # a platform wheel: it holds libdigit
    shutil.rmtree(src)  # the checkout is gone from here on

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    r = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        str(wheel)], capture_output=True, text=True, timeout=600, env=clean_env())
    assert r.returncode == 0, r.stdout + r.stderr

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def run(*args):
        return subprocess.run([str(python), *args], capture_output=True, text=True,
                              timeout=120, cwd=elsewhere, env=clean_env())

    r = run("-c", f"import digit; print(digit.Model.default().classify({str(image)!r}))")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(label)

    r = run("-c", "import digit; print(digit.library_path()); print(digit.default_model_path()); "
                  "print(digit.__version__)")
    assert r.returncode == 0, r.stderr
    lib, model, version = r.stdout.split()
    assert lib.startswith(str(env_dir)) and model.startswith(str(env_dir))
    assert version == digit.version()

    r = run("-m", "digit", "classify", str(image))
    assert r.returncode == 0 and r.stdout.startswith(f"{image}: {label} ("), r.stderr
    r = run("-m", "digit", "fetch", "--dir", str(digit.mnist_dir()))
    assert r.returncode == 0 and "verified" in r.stderr, r.stderr
