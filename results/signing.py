"""The Ed25519 key that signs certified packages.

The seed comes from ``PB_SIGNING_KEY`` (64 hex digits) or, when that is unset, is derived from the
secret key with HKDF-SHA256 under a purpose label, so one secret never serves two uses directly.
The public key is published on the site (``/results/public-key``) and in every package.
"""

from __future__ import annotations

import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pb.settings import Settings

__all__ = [
    "fingerprint",
    "parse_public_key",
    "private_key",
    "public_key_hex",
    "public_key_pem",
    "sign",
    "verify",
]

_PURPOSE = b"pb/results/package-signing/v1"


def private_key(settings: Settings) -> Ed25519PrivateKey:
    if settings.signing_key:
        seed = bytes.fromhex(settings.signing_key)
    else:
        seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(
            settings.secret_key.encode("utf-8")
        )
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_key_hex(settings: Settings) -> str:
    raw = (
        private_key(settings)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    return raw.hex()


def public_key_pem(public_hex: str) -> str:
    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def fingerprint(public_hex: str) -> str:
    """A short, readable digest of a public key: ``ab12 cd34 …`` (first 16 bytes of SHA-256)."""
    digest = hashlib.sha256(bytes.fromhex(public_hex)).hexdigest()[:32]
    return " ".join(digest[i : i + 4] for i in range(0, 32, 4))


def sign(settings: Settings, data: bytes) -> bytes:
    return private_key(settings).sign(data)


def parse_public_key(text: str) -> str:
    """A public key given as 64 hex digits or PEM text → 64 hex digits; ``ValueError`` if neither."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode("ascii"))
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("the PEM key is not an Ed25519 public key")
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
    cleaned = text.replace(" ", "").lower()
    if len(cleaned) != 64 or any(c not in "0123456789abcdef" for c in cleaned):
        raise ValueError("a public key is 64 hexadecimal digits or a PEM block")
    return cleaned


def verify(public_hex: str, data: bytes, signature: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex)).verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True
