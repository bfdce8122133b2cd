"""API key format, generation and hashing.

A key reads `phk_<prefix>_<secret>`. The prefix (12 characters) is public: it is stored
in clear and indexed, so a key is found without scanning. The secret is 32 random bytes
(256 bits) in URL-safe base64; only an argon2id hash of it, peppered with API_KEY_SALT,
is stored. The raw key exists only in the response that creates it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

KEY_SCHEME = "phk"
PREFIX_LENGTH = 12
SECRET_BYTES = 32
_KEY_PATTERN = re.compile(r"^phk_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$")

# OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane (~20 ms here). Verified keys are
# cached, so this cost is paid once per key and process, not per request.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


@dataclass(frozen=True)
class ParsedKey:
    prefix: str
    secret: str


def generate_api_key() -> tuple[str, ParsedKey]:
    """A new raw key and its parts."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    prefix = "".join(secrets.choice(alphabet) for _ in range(PREFIX_LENGTH))
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return f"{KEY_SCHEME}_{prefix}_{secret}", ParsedKey(prefix, secret)


def parse_api_key(raw: str) -> ParsedKey | None:
    """The parts of a well-formed key, or None."""
    match = _KEY_PATTERN.match(raw)
    return ParsedKey(match.group(1), match.group(2)) if match else None


def _peppered(secret: str, pepper: str) -> bytes:
    # The pepper (API_KEY_SALT) is not stored with the hashes: a stolen table alone is
    # not enough to test guesses.
    return hmac.new(pepper.encode(), secret.encode(), hashlib.sha256).digest()


def hash_secret(secret: str, pepper: str) -> str:
    return _HASHER.hash(_peppered(secret, pepper))


def verify_secret(stored_hash: str, secret: str, pepper: str) -> bool:
    try:
        return _HASHER.verify(stored_hash, _peppered(secret, pepper))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def cache_key(raw: str) -> str:
    """What the in-process cache of verified keys is keyed by (never the raw key)."""
    return hashlib.sha256(raw.encode()).hexdigest()
