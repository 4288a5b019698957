#!/usr/bin/env python3
"""Generate data/common-passwords.txt, the blocklist used by domain/password.ts.

Sources (all permissively licensed, fetched with the ordinary registry clients and
pinned by version + sha256 below):

  1. Maven Central  me.gosimple:nbvcxz:1.5.1  (MIT licence, (c) GoSimple LLC)
     dictionaries/passwords.txt: 100,002 common passwords, frequency ranked (its top entries
     largely coincide with zxcvbn's breach-derived list; the package does not name a source).
  2. npm  @zxcvbn-ts/language-common@4.1.3  (MIT licence, (c) Dropbox, Inc. and zxcvbn-ts)
     dist/passwords.json.cjs: 49,233 common passwords, frequency ranked (extends zxcvbn's
     list below: all but 31 of its entries), front-coded with
     @zxcvbn-ts/dictionary-compression (decoder re-implemented below, 6 lines).
  3. npm  zxcvbn@4.4.2  (MIT licence, (c) Dan Wheeler and Dropbox, Inc.)
     lib/frequency_lists.js `passwords`: 30,000 common passwords, frequency ranked (from
     Mark Burnett's / Xato's 10M-password corpus).
  4. PyPI  Django==5.2.19  (BSD-3-Clause licence, (c) Django Software Foundation)
     django/contrib/auth/common-passwords.txt.gz: 19,640 common passwords (Royce Williams'
     20k list, the one Django's CommonPasswordValidator uses).

What is kept:
  * Every entry is NFC-normalised and lowercased (the checker compares case-insensitively).
  * Only entries of 12..128 code points are written: anything shorter is already rejected by
    the length rule, anything longer by the maximum.
  * Entries with leading/trailing whitespace or control characters are dropped (they cannot
    round-trip through a one-per-line text file unambiguously).

Why derived entries too: the real lists are dominated by short passwords; their union has
only 583 entries of 12..128 code points. Users forced to 12 characters typically stretch a
short common password, so we add deterministic variants of the TOP_BASES most common short
passwords (rank order of source 2, then 1): each base with every suffix in SUFFIXES
(digit runs, '!', years 1990..2026, ...) and the base doubled ('dragondragon'), keeping only
those that reach 12 code points. E.g. 'password1234', 'qwertyuiop12', 'iloveyou1234'.

Last run: 583 real + 31,461 derived (56 in both) = 31,988 entries, 442,916 bytes.
Note: 'correct horse battery staple' is in source 1 (nbvcxz), so it is (rightly) rejected.

Output: one password per line, deduplicated, sorted by code point, UTF-8, trailing newline.

Usage:  python3 scripts/gen-common-passwords.py [--cache DIR]
        (needs npm, pip and mvn on PATH; downloads go to DIR, default a temp dir)
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import re
import subprocess
import tarfile
import tempfile
import unicodedata
import zipfile
from pathlib import Path

MIN_LEN, MAX_LEN = 12, 128
TOP_BASES = 1000
YEARS = [str(y) for y in range(1990, 2027)]  # fixed range so the output is reproducible
SUFFIXES = [
    "1", "12", "123", "1234", "12345", "123456", "1234567", "12345678", "123456789",
    "1234567890", "!", "!!", "1!", "12!", "123!", "1234!", "@123", "#1", "01", "007", "69",
    "321", "4321", "54321", "111", "000", "99", *YEARS, *(y + "!" for y in YEARS),
]

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "data" / "common-passwords.txt"

ARTIFACTS = {
    "nbvcxz": ("nbvcxz-1.5.1.jar", "e640b177c1fcc709a01afef8036061e04eac54b6f9024e4b457cc12f973fc93d"),
    "zxcvbn-ts": ("zxcvbn-ts-language-common-4.1.3.tgz", "bf3027c16c069d7877e25dc8751bc819e10e479afcc5ee1a323eb2ab73129ca9"),
    "zxcvbn": ("zxcvbn-4.4.2.tgz", "0b3ebb60ec2df2340e1b8b70e4cb2657a3ceb192781d299310e7aceaa606cd22"),
    "django": ("django-5.2.19-py3-none-any.whl", "5965d974a5218a2b68a11dd1276434707f23886525c23f0598eccedaf4f4ca00"),
}


def fetch(cache: Path) -> dict[str, bytes]:
    """Download the pinned artifacts into `cache` (skipping ones already there), verify sha256."""
    def run(*cmd: str) -> None:
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)

    jar = cache / ARTIFACTS["nbvcxz"][0]
    if not jar.exists():
        run("mvn", "-q", "-B", "dependency:copy", "-Dartifact=me.gosimple:nbvcxz:1.5.1",
            f"-DoutputDirectory={cache}")
    for pkg, key in (("@zxcvbn-ts/language-common@4.1.3", "zxcvbn-ts"), ("zxcvbn@4.4.2", "zxcvbn")):
        if not (cache / ARTIFACTS[key][0]).exists():
            run("npm", "pack", "--silent", "--pack-destination", str(cache), pkg)
    if not (cache / ARTIFACTS["django"][0]).exists():
        run("pip", "download", "-q", "--no-deps", "--only-binary=:all:", "-d", str(cache), "Django==5.2.19")

    blobs = {}
    for key, (name, sha) in ARTIFACTS.items():
        data = (cache / name).read_bytes()
        got = hashlib.sha256(data).hexdigest()
        if got != sha:
            raise SystemExit(f"sha256 mismatch for {name}: {got}")
        blobs[key] = data
    return blobs


def tgz_member(blob: bytes, member: str) -> str:
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tf:
        f = tf.extractfile(member)
        assert f is not None, member
        return f.read().decode("utf-8")


def js_string_after(src: str, prefix: str) -> str:
    """The double-quoted JS string literal right after `prefix` (only simple escapes occur)."""
    m = re.search(re.escape(prefix) + r'"((?:[^"\\]|\\.)*)"', src)
    assert m, prefix
    return re.sub(r"\\(.)", r"\1", m.group(1))


def zxcvbn_ts_decompress(encoded: str) -> list[str]:
    # Front coding: each entry is an uppercase letter (A + length of the prefix shared with
    # the previous entry) followed by the new tail. Entries themselves are lowercase.
    parts = re.split(r"([A-Z])", encoded)
    out, last = [], ""
    for i in range(1, len(parts), 2):
        last = last[: ord(parts[i]) - 65] + parts[i + 1]
        out.append(last)
    return out


def load_sources(blobs: dict[str, bytes]) -> dict[str, list[str]]:
    with zipfile.ZipFile(io.BytesIO(blobs["nbvcxz"])) as zf:
        nbvcxz = zf.read("dictionaries/passwords.txt").decode("utf-8").splitlines()

    src = tgz_member(blobs["zxcvbn-ts"], "package/dist/passwords.json.cjs")
    zts = zxcvbn_ts_decompress(js_string_after(src, "decompress__default.default("))

    src = tgz_member(blobs["zxcvbn"], "package/lib/frequency_lists.js")
    zx = js_string_after(src, "passwords: ").split(",")

    with zipfile.ZipFile(io.BytesIO(blobs["django"])) as zf:
        dj = gzip.decompress(zf.read("django/contrib/auth/common-passwords.txt.gz")).decode("utf-8").splitlines()

    return {"nbvcxz": nbvcxz, "zxcvbn-ts": zts, "zxcvbn": zx, "django": dj}


def norm(s: str) -> str:
    return unicodedata.normalize("NFC", s).lower()


def usable(s: str) -> bool:
    return s == s.strip() and not any(unicodedata.category(c) == "Cc" for c in s)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", type=Path, help="directory for downloaded artifacts")
    args = ap.parse_args()
    if args.cache:
        args.cache.mkdir(parents=True, exist_ok=True)
        blobs = fetch(args.cache.resolve())
    else:
        with tempfile.TemporaryDirectory() as d:
            blobs = fetch(Path(d))
    sources = load_sources(blobs)

    real: set[str] = set()
    for name, entries in sources.items():
        kept = {n for n in map(norm, entries) if usable(n) and MIN_LEN <= len(n) <= MAX_LEN}
        print(f"{name}: {len(entries)} entries, {len(kept)} of 12..128 code points")
        real |= kept

    bases: list[str] = []
    seen: set[str] = set()
    for n in map(norm, sources["zxcvbn-ts"] + sources["nbvcxz"]):
        if len(bases) == TOP_BASES:
            break
        if n not in seen and usable(n) and 0 < len(n) < MIN_LEN:
            seen.add(n)
            bases.append(n)
    derived = {v for b in bases for v in (*(b + s for s in SUFFIXES), b + b) if MIN_LEN <= len(v) <= MAX_LEN}

    result = sorted(real | derived)
    OUT.write_text("".join(p + "\n" for p in result), encoding="utf-8")
    print(f"real: {len(real)}, derived: {len(derived)} (overlap {len(real & derived)}), "
          f"written: {len(result)} -> {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
