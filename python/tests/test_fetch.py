# SPDX-License-Identifier: MIT
"""digit.fetch (also scripts/fetch_mnist.py and share/libdigit/fetch_mnist.py)
never replaces a file that is already there. Offline: every case here is
decided before any download would start."""

import os
import subprocess
import sys

import pytest

from conftest import REPO
from digit import fetch


def test_a_foreign_file_is_named_and_kept(tmp_path):
    mine = tmp_path / "train-images-idx3-ubyte"
    mine.write_bytes(b"my own data")
    with pytest.raises(fetch.FetchError, match=f"{mine}: not the MNIST file") as e:
        fetch.fetch(str(tmp_path), quiet=True)
    assert "left as it is" in str(e.value)
    assert mine.read_bytes() == b"my own data"
    assert sorted(os.listdir(tmp_path)) == ["train-images-idx3-ubyte"]


def test_several_foreign_files_are_all_named(tmp_path):
    names = ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    with pytest.raises(fetch.FetchError) as e:
        fetch.fetch(str(tmp_path), quiet=True)
    for name in names:
        assert str(tmp_path / name) in str(e.value)


def test_a_complete_folder_is_only_verified(mnist_dir, capfd):
    before = {n: os.stat(mnist_dir / n).st_mtime_ns for n in fetch.EXPECTED_SHA256}
    fetch.fetch(str(mnist_dir), quiet=False)
    assert "all files present and verified" in capfd.readouterr().err
    assert before == {n: os.stat(mnist_dir / n).st_mtime_ns for n in fetch.EXPECTED_SHA256}


def test_a_name_taken_meanwhile_is_not_replaced(tmp_path):
    tmp, taken = tmp_path / "new", tmp_path / "taken"
    tmp.write_bytes(b"downloaded")
    taken.write_bytes(b"someone else's")
    with pytest.raises(fetch.FetchError, match="appeared while fetching"):
        fetch._place_without_replacing(str(tmp), str(taken))
    assert taken.read_bytes() == b"someone else's"


@pytest.mark.parametrize("script", [REPO / "scripts" / "fetch_mnist.py",
                                    REPO / "python" / "digit" / "fetch.py"])
def test_the_scripts_exit_two_naming_the_file(script, tmp_path):
    mine = tmp_path / "t10k-labels-idx1-ubyte"
    mine.write_bytes(b"labels of my own")
    r = subprocess.run([sys.executable, str(script), "--dir", str(tmp_path)],
                       capture_output=True, text=True, timeout=60, env={"PATH": os.environ["PATH"]})
    assert r.returncode == 2
    assert f"fetch_mnist: {mine}: not the MNIST file" in r.stderr
    assert mine.read_bytes() == b"labels of my own"
