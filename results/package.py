"""Signed packages: a zip of files, a ``manifest.json`` of their SHA-256 digests, and an Ed25519
signature over the manifest's exact bytes (``manifest.sig``, hex).

Entries are stored uncompressed, in a fixed order, with fixed timestamps and attributes, so
every byte of a package has one meaning: file content (checked against the signed digests and
the zip's CRC-32) or the zip's own records (checked against exactly what ``build_package``
writes). Compression would leave bits the decompressor ignores, and its output varies with the
zlib version, so a changed byte there could pass unnoticed or a genuine package fail elsewhere.

The container is generic: ``build_package(files, manifest_extra, settings)`` for any kind of
process (``manifest["kind"]`` is ``"budgeting"`` or ``"consultation"``), and
``read_package(zip_bytes, public_key)`` gives back the manifest and the files only when the
signature and every digest check out. ``check_package`` lists every problem instead of stopping
at the first, for ``pb verify``. What goes into a budgeting package is in
``results.certify``.
"""

from __future__ import annotations

import io
import json
import re
import struct
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pb
from pb.errors import DomainError
from pb.settings import Settings
from results import signing
from results.canonical import canonical_json, sha256_hex

__all__ = [
    "KINDS",
    "MANIFEST",
    "SIGNATURE",
    "PackageCheck",
    "PackageError",
    "build_package",
    "check_package",
    "read_package",
]

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
FORMAT = "pb-certified-package"
KINDS = ("budgeting", "consultation")
_RESERVED_KEYS = {"format", "version", "kind", "created_at", "algorithm", "public_key", "files"}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*")
FILE_ATTR = 0o100644 << 16  # a regular file, rw-r--r--
# The zip's own records, as zipfile writes them (APPNOTE 4.3.7, 4.3.12, 4.3.16).
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
# Refuse absurd archives before reading them into memory (a zip bomb is still "bad input").
MAX_FILE_BYTES = 512 * 1024 * 1024


class PackageError(DomainError):
    """A package that is not what it claims: ``problems`` lists every difference found."""

    status_code = 422
    title = "Invalid package"

    def __init__(self, problems: list[str]) -> None:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        super().__init__(problems[0] + more if problems else "invalid package")
        self.problems = problems


def _check_name(name: str) -> None:
    if (
        not _NAME.fullmatch(name)
        or name.startswith("/")
        or "\\" in name
        or any(part in ("", ".", "..") for part in name.split("/"))
        or name in (MANIFEST, SIGNATURE)
    ):
        raise ValueError(f"file name {name!r} cannot be used in a package")


def build_package(
    files: Mapping[str, bytes],
    manifest_extra: Mapping[str, Any],
    settings: Settings,
    *,
    created_at: datetime | None = None,
) -> bytes:
    """A signed zip of ``files`` plus ``manifest.json`` and ``manifest.sig``.

    ``manifest_extra`` must say ``kind`` (one of ``KINDS``) and may add any other key except the
    reserved ones. Files are stored in name order with a fixed timestamp, so the same input and
    time give the same bytes.
    """
    extra = dict(manifest_extra)
    kind = extra.pop("kind", None)
    if kind not in KINDS:
        raise ValueError(f"manifest kind must be one of {', '.join(KINDS)} (got {kind!r})")
    clash = _RESERVED_KEYS & set(extra)
    if clash:
        raise ValueError(f"manifest keys {sorted(clash)} are reserved")
    for name in files:
        _check_name(name)
    at = (created_at or datetime.now(UTC)).astimezone(UTC)
    manifest = {
        **extra,
        "format": FORMAT,
        "version": 1,
        "kind": kind,
        "created_at": at.isoformat(timespec="seconds"),
        "algorithm": "Ed25519",
        "public_key": signing.public_key_hex(settings),
        "software_version": extra.get("software_version", f"pb {pb.__version__}"),
        "files": {
            name: {"sha256": sha256_hex(data), "bytes": len(data)}
            for name, data in sorted(files.items())
        },
    }
    manifest_bytes = (
        json.dumps(manifest, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    ).encode()
    signature = signing.sign(settings, manifest_bytes).hex().encode("ascii") + b"\n"
    out = io.BytesIO()
    stamp = (max(at.year, 1980), at.month, at.day, at.hour, at.minute, at.second)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in [
            (MANIFEST, manifest_bytes),
            (SIGNATURE, signature),
            *sorted(files.items()),
        ]:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3  # Unix, whatever system builds it: the layout is checked
            info.external_attr = FILE_ATTR
            zf.writestr(info, data)
    return out.getvalue()


@dataclass
class PackageCheck:
    """What ``check_package`` found: the manifest (if readable), the files, every problem."""

    manifest: dict[str, Any] | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    public_key: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


def _unzip(
    zip_bytes: bytes, check: PackageCheck
) -> tuple[dict[str, bytes], list[zipfile.ZipInfo]] | None:
    try:
        zf = zipfile.ZipFile(io.BytesIO(zip_bytes))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        check.problems.append("not a zip file (the package is damaged or is something else)")
        return None
    contents: dict[str, bytes] = {}
    with zf:
        infos = zf.infolist()
        for info in infos:
            if info.is_dir():
                continue
            if info.file_size > MAX_FILE_BYTES:
                check.problems.append(
                    f"{info.filename}: too large to check ({info.file_size} bytes)"
                )
                continue
            if info.filename in contents:
                check.problems.append(f"{info.filename}: appears twice in the zip")
                continue
            try:
                contents[info.filename] = zf.read(info)
            except (
                zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError,
                NotImplementedError, RuntimeError,
            ) as exc:  # fmt: skip
                # zipfile checks each member's CRC-32: a changed content byte shows up here.
                check.problems.append(f"{info.filename}: damaged in the zip ({exc})")
    return contents, infos


def check_package(zip_bytes: bytes, public_key: str | None = None) -> PackageCheck:
    """Open a package and check its signature and digests; every problem is one line.

    ``public_key`` (64 hex digits) is the key the package must be signed with; without it the
    key named in the manifest is used, which proves integrity but not who signed (compare its
    fingerprint with the one published by the council).
    """
    check = PackageCheck()
    unzipped = _unzip(zip_bytes, check)
    if unzipped is None:
        return check
    contents, infos = unzipped
    for required in (MANIFEST, SIGNATURE):
        if required not in contents:
            check.problems.append(f"missing file: {required}")
    if MANIFEST not in contents:
        return check
    manifest_bytes = contents[MANIFEST]
    try:
        manifest = json.loads(manifest_bytes.decode("utf-8"))
        if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
            raise ValueError("no list of files")
    except (UnicodeDecodeError, ValueError) as exc:
        check.problems.append(f"{MANIFEST}: unreadable ({exc})")
        return check
    check.manifest = manifest
    check.problems += _layout_problems(zip_bytes, infos, manifest.get("created_at"))
    key = public_key or manifest.get("public_key", "")
    check.public_key = key if isinstance(key, str) else ""
    if SIGNATURE in contents:
        try:
            signature = bytes.fromhex(contents[SIGNATURE].decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            signature = b""
        if not signing.verify(check.public_key, manifest_bytes, signature):
            if public_key and manifest.get("public_key") != public_key:
                check.problems.append(
                    f"{SIGNATURE}: wrong signature: not signed with the expected key "
                    f"({signing.fingerprint(public_key) if len(public_key) == 64 else public_key})"
                )
            else:
                check.problems.append(
                    f"{SIGNATURE}: wrong signature: {MANIFEST} or its signature was changed"
                )
    if manifest.get("format") != FORMAT:
        check.problems.append(f"{MANIFEST}: not a pb package (format {manifest.get('format')!r})")
    if manifest.get("kind") not in KINDS:
        check.problems.append(f"{MANIFEST}: unknown kind {manifest.get('kind')!r}")
    listed: dict[str, Any] = manifest["files"]
    for name, entry in sorted(listed.items()):
        expected = entry.get("sha256") if isinstance(entry, dict) else None
        if name not in contents:
            check.problems.append(f"missing file: {name}")
            continue
        actual = sha256_hex(contents[name])
        if actual != expected:
            check.problems.append(
                f"{name}: changed (SHA-256 {actual[:16]}…, manifest says {str(expected)[:16]}…)"
            )
        else:
            check.files[name] = contents[name]
    for name in sorted(set(contents) - set(listed) - {MANIFEST, SIGNATURE}):
        check.problems.append(f"{name}: not listed in {MANIFEST}")
    return check


def _dos_stamp(created_at: object, infos: list[zipfile.ZipInfo]) -> tuple[int, int]:
    try:
        at = datetime.fromisoformat(str(created_at)).astimezone(UTC)
        y, mo, d, h, mi, sec = max(at.year, 1980), at.month, at.day, at.hour, at.minute, at.second
    except ValueError:
        y, mo, d, h, mi, sec = infos[0].date_time if infos else (1980, 1, 1, 0, 0, 0)
    return (h << 11) | (mi << 5) | (sec // 2), ((y - 1980) << 9) | (mo << 5) | d


def _layout_problems(
    zip_bytes: bytes, infos: list[zipfile.ZipInfo], created_at: object
) -> list[str]:
    """Every byte outside the compressed file data must be exactly what ``build_package``
    writes, so a changed timestamp, flag or attribute in the zip's own records is caught too
    (the files themselves are covered by their digests and the zip's CRC-32)."""
    dos_time, dos_date = _dos_stamp(created_at, infos)
    problems: list[str] = []
    names = [i.filename for i in infos]
    expected_order = [
        MANIFEST,
        SIGNATURE,
        *sorted(n for n in names if n not in (MANIFEST, SIGNATURE)),
    ]
    if names != expected_order:
        problems.append("the zip's entries are not in the order a package is written in")
    pos = 0
    directory = []
    changed: list[str] = []
    for info in infos:
        name = info.filename.encode("utf-8")
        local = _LOCAL.pack(
            b"PK\x03\x04", 20, 0, 0, zipfile.ZIP_STORED, dos_time, dos_date,
            info.CRC, info.compress_size, info.file_size, len(name), 0,
        ) + name  # fmt: skip
        if info.header_offset != pos or zip_bytes[pos : pos + len(local)] != local:
            changed.append(info.filename)
        pos = info.header_offset + len(local) + info.compress_size
        directory.append(
            _CENTRAL.pack(
                b"PK\x01\x02",
                20,
                3,
                20,
                0,
                0,
                zipfile.ZIP_STORED,
                dos_time,
                dos_date,
                info.CRC,
                info.compress_size,
                info.file_size,
                len(name),
                0,
                0,
                0,
                0,
                FILE_ATTR,
                info.header_offset,
            )
            + name  # fmt: skip
        )
    central = b"".join(directory)
    end = _END.pack(b"PK\x05\x06", 0, 0, len(infos), len(infos), len(central), pos, 0)
    if len(changed) == 1:
        problems.append(f"{changed[0]}: its record in the zip was changed")
    elif changed:
        problems.append(
            f"the zip's records of {len(changed)} files differ from how packages are written "
            "(the zip was changed or rewritten by another tool)"
        )
    if zip_bytes[pos:] != central + end:
        problems.append("the zip's directory was changed")
    return problems


def read_package(
    zip_bytes: bytes, public_key: str | None
) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest and the files of a package whose signature and digests all check out.

    Raises ``PackageError`` naming the first problem (all of them in ``.problems``).
    """
    check = check_package(zip_bytes, public_key)
    if check.problems or check.manifest is None:
        raise PackageError(check.problems or ["unreadable package"])
    return check.manifest, check.files


def manifest_digest(zip_bytes: bytes) -> str:
    """SHA-256 of the ``manifest.json`` inside a package (what the signature covers)."""
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as zf:
        return sha256_hex(zf.read(MANIFEST))


def canonical(value: Any) -> bytes:
    """Canonical JSON bytes, for files that go into a package."""
    return canonical_json(value).encode("utf-8")
