# SPDX-License-Identifier: MIT
"""Python and the Swift CLI give the same answers on the same PNG files.

The digitc executable comes from $DIGITC, else <repo>/.build/debug/digitc or
<repo>/.build/release/digitc (build it with `swift build`); without one the
test is skipped.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import digit
from conftest import EXAMPLES_DIR, REPO, package_env


def find_digitc():
    env = os.environ.get("DIGITC")
    if env:
        return Path(env)
    for config in ("debug", "release"):
        exe = REPO / ".build" / config / "digitc"
        if exe.is_file() and os.access(exe, os.X_OK):
            return exe
    return None


@pytest.fixture(scope="module")
def digitc():
    exe = find_digitc()
    if exe is None:
        pytest.skip("no digitc: set DIGITC or run `swift build` (looked in "
                    f"{REPO / '.build'}/{{debug,release}}/digitc)")
    if not exe.is_file():
        pytest.fail(f"DIGITC={exe} does not exist")
    return exe


def parse_json_output(text):
    """digitc prints one JSON object per file, one per line (a single JSON
    array is accepted too)."""
    text = text.strip()
    if text.startswith("["):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("preset", ["basic", "compact"])
def test_predictions_equal_digitc(digitc, preset, trained_model_path, png_digits):
    model_path = trained_model_path(preset)
    files = [str(p) for p, _ in png_digits]
    r = subprocess.run([str(digitc), "classify", "--json", "--model", str(model_path), *files],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"digitc failed ({r.returncode}): {r.stderr}"
    results = parse_json_output(r.stdout)
    assert len(results) == len(files), r.stdout
    with digit.Model.load(model_path) as m:
        for res, path in zip(results, files):
            assert Path(res["file"]).name == Path(path).name
            d, probs = m.classify_image(path)
            theirs = np.asarray(res["probabilities"], dtype=np.float64)
            assert theirs.shape == (10,)
            np.testing.assert_allclose(theirs, probs, atol=1e-6, err_msg=path)
            assert res["digit"] == d, path
            assert res["confidence"] == pytest.approx(float(probs[d]), abs=1e-6)


@pytest.fixture(scope="module")
def cli_model(digitc, tmp_path_factory, mnist_dir):
    """A model written by `digitc train` (compact, 500 images, one epoch)."""
    out = tmp_path_factory.mktemp("cli") / "cli.safetensors"
    r = subprocess.run([str(digitc), "train", "--arch", "compact", "--epochs", "1",
                        "--limit", "500", "--seed", "3", "--threads", "1", "--lr", "0.003",
                        "--data", str(mnist_dir), "--output", str(out)],
                       capture_output=True, text=True, timeout=300, cwd=out.parent)
    assert r.returncode == 0, f"digitc train failed ({r.returncode}): {r.stderr}"
    assert out.is_file()
    return out


def test_digitc_training_matches_python(cli_model, mnist_dir):
    """The same options give the same model, whichever front end ran them."""
    with digit.Dataset.mnist(mnist_dir, train=True) as full, full[:500] as train, \
            digit.Model("compact", seed=3) as m, digit.Model.load(cli_model) as cli:
        m.train(train, epochs=1, seed=3, threads=1, lr=0.003)
        ours, theirs = m.state_dict(), cli.state_dict()
        assert cli.arch == "compact"
        assert "trained_with" in cli.metadata
    # Not bit for bit: SwiftPM compiles csrc/ with clang, whose default
    # -ffp-contract=on fuses multiply-adds into FMAs in the x86-64-v3/v4
    # target_clones of the hot loops; the Makefile's gcc -std=c11 does not.
    for name in ours:
        np.testing.assert_allclose(theirs[name], ours[name], rtol=0, atol=1e-5, err_msg=name)


def test_load_cli_model_example(cli_model, mnist_dir):
    r = subprocess.run([sys.executable, str(EXAMPLES_DIR / "load_cli_model.py"), str(cli_model),
                        "--data", str(mnist_dir), "--limit", "300"],
                       capture_output=True, text=True, timeout=120, env=package_env())
    assert r.returncode == 0, r.stderr
    assert "architecture compact" in r.stdout and "test set: 300 images" in r.stdout
    assert "trained_with = digitc train" in r.stdout
