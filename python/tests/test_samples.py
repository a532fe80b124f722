# SPDX-License-Identifier: MIT
"""The committed hand-drawn samples (samples/digit-0.png ... digit-9.png,
written by samples/make_samples.py) are read as the digits they show by the
shipped model, through the Python binding and through digitc.

The model is $DIGIT_MODEL, else <repo>/models/digit-basic.safetensors; the
digitc executable as in test_digitc.py ($DIGITC, else <repo>/.build/
{debug,release}/digitc; without one the digitc test is skipped).
"""

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import digit
from conftest import REPO
from test_digitc import find_digitc, parse_json_output

SAMPLES = [REPO / "samples" / f"digit-{d}.png" for d in range(10)]


@pytest.fixture(scope="module")
def model_path():
    path = Path(os.environ.get("DIGIT_MODEL") or REPO / "models" / "digit-basic.safetensors")
    if not path.is_file():
        pytest.fail(f"no model at {path}: set DIGIT_MODEL to the shipped model", pytrace=False)
    return path


def test_samples_exist():
    missing = [str(p) for p in SAMPLES if not p.is_file()]
    assert not missing, f"missing samples (run samples/make_samples.py): {missing}"


def test_samples_look_like_drawings():
    """Not MNIST digits: 200x200 canvases, dark ink on white, to be reduced
    by the library's preprocessing into a centred 28x28 MNIST-style digit."""
    for path in SAMPLES:
        head = path.read_bytes()[:24]
        assert head[12:16] == b"IHDR", path
        assert (int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")) == (200, 200)
        img = digit.load_image(path)
        assert img.shape == (28, 28) and img.max() == 255, path
        ys, xs = np.nonzero(img >= 32)
        assert max(ys.max() - ys.min(), xs.max() - xs.min()) + 1 in range(18, 22), path
        assert path.stat().st_size < 8192, f"{path} should stay a small file"


def test_samples_python(model_path):
    with digit.Model.load(model_path) as m:
        got = {d: m.classify_image(path) for d, path in enumerate(SAMPLES)}
    wrong = {d: (g, float(p[g])) for d, (g, p) in got.items() if g != d}
    assert not wrong, f"digit -> (read as, confidence): {wrong}"


def test_samples_digitc(model_path):
    exe = find_digitc()
    if exe is None:
        pytest.skip("no digitc: set DIGITC or run `swift build`")
    if not exe.is_file():
        pytest.fail(f"DIGITC={exe} does not exist")
    files = [str(p) for p in SAMPLES]
    r = subprocess.run([str(exe), "classify", "--json", "--model", str(model_path), *files],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"digitc failed ({r.returncode}): {r.stderr}"
    results = parse_json_output(r.stdout)
    assert len(results) == len(files), r.stdout
    for d, res in enumerate(results):
        assert Path(res["file"]).name == f"digit-{d}.png"
        assert res["digit"] == d, f"digit-{d}.png read as {res['digit']}: {res}"
