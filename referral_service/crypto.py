"""Personal data at rest: AES-GCM with a key id beside each value, and keyed hashes.

Values are stored as `<key id>:<base64(nonce | ciphertext)>`, so keys can rotate: the
first key in `REFERRAL_DATA_KEYS` encrypts, every listed key decrypts. ID numbers also
get an HMAC-SHA256 under `REFERRAL_SEARCH_KEY` for exact-match search without decryption.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class Keyring:
    """Encrypts with the current key and decrypts with any known key."""

    def __init__(self, data_keys: dict[str, bytes], search_key: bytes):
        if not data_keys:
            raise ValueError("at least one data key is required")
        self.current_kid = next(iter(data_keys))
        self._aead = {kid: AESGCM(key) for kid, key in data_keys.items()}
        self._search_key = search_key

    def encrypt(self, plaintext: bytes) -> bytes:
        """`kid:` + nonce + ciphertext, as bytes."""
        nonce = os.urandom(12)
        sealed = self._aead[self.current_kid].encrypt(nonce, plaintext, None)
        return self.current_kid.encode() + b":" + nonce + sealed

    def decrypt(self, token: bytes) -> bytes:
        """Reverse `encrypt`; raises KeyError for an unknown key id."""
        kid, _, rest = token.partition(b":")
        return self._aead[kid.decode()].decrypt(rest[:12], rest[12:], None)

    def encrypt_text(self, value: str) -> str:
        """Encrypt a string to `kid:base64`."""
        kid, _, rest = self.encrypt(value.encode()).partition(b":")
        return kid.decode() + ":" + base64.b64encode(rest).decode()

    def decrypt_text(self, token: str) -> str:
        """Reverse `encrypt_text`."""
        kid, _, b64 = token.partition(":")
        return self.decrypt(kid.encode() + b":" + base64.b64decode(b64)).decode()

    def search_hash(self, value: str) -> str:
        """Keyed hash for exact-match lookup; normalises case and spaces."""
        normal = "".join(value.split()).upper().encode()
        return hmac.new(self._search_key, normal, hashlib.sha256).hexdigest()


_keyring: Keyring | None = None


def configure(keyring: Keyring) -> None:
    """Install the process-wide keyring (done by `create_app`)."""
    global _keyring
    _keyring = keyring


def keyring() -> Keyring:
    """The process-wide keyring; fails loudly if the app was not created."""
    if _keyring is None:
        raise RuntimeError("crypto keyring not configured; create the app first")
    return _keyring
