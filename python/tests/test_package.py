# SPDX-License-Identifier: MIT
"""The package as a user meets it: the shipped model with no set-up, PNG
paths and PIL images as input, `python -m digit`, and a Model shared
between threads while one of them closes it."""

import random
import subprocess
import sys
import threading

import numpy as np
import pytest

import digit
from conftest import REPO, package_env

SEVEN = REPO / "samples" / "digit-7.png"


def test_default_model_classifies_a_path():
    with digit.Model.default() as m:
        assert m.arch == "strong"
        assert m.classify(str(SEVEN)) == 7
        assert m.classify(SEVEN) == 7
        p = m.predict(SEVEN)
        assert p.shape == (10,) and int(p.argmax()) == 7


def test_default_model_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DIGIT_MODEL", str(tmp_path / "gone.safetensors"))
    with pytest.raises(digit.DigitFileNotFoundError, match="gone.safetensors"):
        digit.Model.default()


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P"])
def test_pil_images(mode, png_digits):
    Image = pytest.importorskip("PIL.Image")
    path, label = png_digits[0]
    with Image.open(path) as im:
        picture = im.convert(mode)
    with digit.Model.default() as m:
        want = m.classify(digit.load_image(path))[0]
        assert m.classify(picture) == want
        assert m.predict(picture).shape == (10,)
    assert digit.preprocess(picture).shape == (28, 28)


def test_ink_only_in_alpha_is_seen():
    Image = pytest.importorskip("PIL.Image")
    gray = np.asarray(Image.open(SEVEN).convert("L"))
    rgba = np.zeros(gray.shape + (4,), np.uint8)
    rgba[..., 3] = 255 - gray  # black ink where the drawing is dark; clear paper
    with digit.Model.default() as m:
        assert m.classify(Image.fromarray(rgba, "RGBA")) == 7


def run_module(*args, **env):
    return subprocess.run([sys.executable, "-m", "digit", *map(str, args)],
                          capture_output=True, text=True, timeout=120, env=package_env(**env))


def test_python_m_digit_classify(tmp_path):
    r = run_module("classify", SEVEN, tmp_path / "missing.png")
    assert r.returncode == 2
    assert r.stdout.startswith(f"{SEVEN}: 7 (")
    assert "missing.png" in r.stderr and "Traceback" not in r.stderr


def test_python_m_digit_fetch_verifies(mnist_dir):
    r = run_module("fetch", "--dir", mnist_dir)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == str(mnist_dir)
    assert "all files present and verified" in r.stderr


RACES = 10_000


def test_close_during_predict_never_crashes(test_images):
    """close() on one thread while another predicts in a loop: every call
    returns a result or raises ClosedError, and none touches freed memory.
    The close lands at a random moment, often in the middle of a C call
    (which runs without the GIL); the model is then freed by that call on
    its way out."""
    x = test_images[:8]
    rng = random.Random(5)
    counts = {"result": 0, "closed": 0, "freed_late": 0}
    errors = []
    for _ in range(RACES):
        m = digit.Model("compact", seed=1)
        started = threading.Event()

        def predict_until_closed():
            started.set()
            try:
                while True:
                    p = m.predict(x)
                    assert p.shape == (8, 10) and np.allclose(p.sum(1), 1, atol=1e-4)
                    counts["result"] += 1
            except digit.ClosedError:
                counts["closed"] += 1
            except BaseException as e:  # anything else fails the test
                errors.append(e)

        t = threading.Thread(target=predict_until_closed)
        t.start()
        started.wait()
        for _ in range(rng.randrange(400)):  # a random head start, in bytecodes
            pass
        m.close()
        counts["freed_late"] += m._h is not None  # a call was in flight
        t.join()
        assert m.closed and m._h is None
    print("close/predict races:", counts)
    assert not errors, errors[:3]
    assert counts["closed"] == RACES
    assert counts["result"] > 0 and counts["freed_late"] > 0, counts


def test_closed_model_refuses_every_call():
    m = digit.Model("compact")
    m.close()
    m.close()
    for call in (lambda: m.arch, lambda: m.predict(np.zeros((28, 28), np.uint8)),
                 lambda: m.state_dict(), lambda: m.metadata, lambda: m.save("x")):
        with pytest.raises(digit.ClosedError, match="closed"):
            call()


def test_version_attribute():
    assert digit.__version__ == digit.version()
