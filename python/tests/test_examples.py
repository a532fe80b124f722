# SPDX-License-Identifier: MIT
"""The example programs run as a user runs them."""

import subprocess
import sys

import pytest

from conftest import EXAMPLES_DIR, PYTHON_DIR, package_env


def run(script, *args, env=None):
    # The examples import the package as any program does: here the one
    # under test, as if it were installed.
    full_env = package_env(**(env or {}))
    return subprocess.run([sys.executable, str(EXAMPLES_DIR / script), *map(str, args)],
                          capture_output=True, text=True, env=full_env, timeout=120,
                          cwd=PYTHON_DIR.parent)


def test_classify(trained_model_path, png_digits):
    model = trained_model_path("basic")
    files = [p for p, _ in png_digits[:3]]
    r = run("classify.py", *files, "--model", model)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 3
    for line, path in zip(lines, files):
        assert line.startswith(f"{path}: ") and "confident" in line
    # $DIGIT_MODEL is the default model
    r = run("classify.py", files[0], env={"DIGIT_MODEL": str(model)})
    assert r.returncode == 0 and r.stdout.startswith(str(files[0]))


def test_classify_reports_problems(tmp_path, trained_model_path):
    r = run("classify.py", "x.png", "--model", tmp_path / "none.safetensors")
    assert r.returncode == 2 and "no model at" in r.stderr
    bad = tmp_path / "bad.png"
    bad.write_text("not a png")
    r = run("classify.py", bad, "--model", trained_model_path("basic"))
    assert r.returncode == 2 and str(bad) in r.stderr and "Traceback" not in r.stderr


def test_train_and_load_cli_model(tmp_path, mnist_dir):
    out = tmp_path / "trained.safetensors"
    r = run("train.py", "--data", mnist_dir, "--arch", "compact", "--epochs", "1",
            "--limit", "300", "--test-limit", "200", "--batch-size", "50", "--lr", "0.003",
            "--every", "2", "--save", out)
    assert r.returncode == 0, r.stderr
    assert "epoch 1 batch    6/6" in r.stdout and "test accuracy" in r.stdout
    assert out.exists()
    r = run("load_cli_model.py", out, "--data", mnist_dir, "--limit", "200")
    assert r.returncode == 0, r.stderr
    assert "architecture compact" in r.stdout and "total parameters: 31898" in r.stdout
    assert "trained_with = python/examples/train.py" in r.stdout
    assert "test set: 200 images" in r.stdout


def test_load_cli_model_missing_file(tmp_path):
    r = run("load_cli_model.py", tmp_path / "none.safetensors")
    assert r.returncode == 2 and "none.safetensors" in r.stderr


@pytest.mark.parametrize("script", ["classify.py", "train.py", "load_cli_model.py"])
def test_help(script):
    r = run(script, "--help")
    assert r.returncode == 0 and "usage:" in r.stdout
