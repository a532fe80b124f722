# SPDX-License-Identifier: MIT
"""Every public C function is bound in Python and in Swift, or listed in
abi/unbound.txt with the reason it is not: the bindings cannot drift from
digit.h unnoticed."""

import re

from conftest import REPO
from digit import _capi


def header_functions():
    text = (REPO / "include" / "digit.h").read_text()
    return re.findall(r"^DIGIT_API [^;(]*?\b(digit_\w+)\(", text, re.M)


def excused():
    """{(function, "python" | "swift"): reason} from abi/unbound.txt, whose
    lines read `digit_x  python|swift|both  reason`."""
    out = {}
    for line in (REPO / "abi" / "unbound.txt").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, where, reason = line.split(None, 2)
        assert reason.strip(), f"abi/unbound.txt: {name} needs a reason"
        for side in (("python", "swift") if where == "both" else (where,)):
            out[(name, side)] = reason
    return out


def swift_sources():
    """The Digit module: what Swift users get (digitc calling C directly
    does not bind a function for them)."""
    return "\n".join(p.read_text() for p in sorted((REPO / "Sources" / "Digit").rglob("*.swift")))


def test_header_lists_functions():
    assert len(header_functions()) >= 40


def test_every_function_is_bound_in_python():
    ok = excused()
    missing = [f for f in header_functions()
               if f not in _capi._SIGNATURES and (f, "python") not in ok]
    assert not missing, f"not bound in python/digit/_capi.py nor excused: {missing}"


def test_every_function_is_bound_in_swift():
    ok = excused()
    swift = swift_sources()
    missing = [f for f in header_functions()
               if not re.search(rf"\b{f}\(", swift) and (f, "swift") not in ok]
    assert not missing, f"not called from Sources/Digit nor excused: {missing}"


def test_excuses_name_real_functions():
    stale = sorted({name for name, _ in excused()} - set(header_functions()))
    assert not stale, f"abi/unbound.txt names functions digit.h no longer has: {stale}"


def test_python_binds_nothing_the_header_lacks():
    extra = sorted(set(_capi._SIGNATURES) - set(header_functions()))
    assert not extra, f"_capi.py declares functions digit.h does not: {extra}"
