"""Optional login for a lab server: an auth file of ``user:hash`` lines, checked with scrypt.

Passwords never appear on a command line or in the file: ``python -m demo
hash-password alice >> users.txt`` asks for one and prints ``alice:<hash>``.
A hash is ``scrypt$<n>$<r>$<p>$<salt>$<key>`` (salt and key in base64), so
the cost parameters travel with it. Lines starting with ``#`` and blank lines
are ignored.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import os
from pathlib import Path

SCHEME = "scrypt"
# Below OWASP's recommended n = 2^17 (128 MiB and ~0.3 s per check): a class logging in at once
# on a 2-core server would wait ~15 s. n = 2^14 costs 16 MiB and ~40 ms; a hash keeps its own
# cost, so raising COST later leaves existing lines valid.
COST = {"n": 2 ** 14, "r": 8, "p": 1}
SALT_BYTES, KEY_BYTES = 16, 32
FIX = "`python -m demo hash-password USER >> FILE` で行を作ってください / make lines with that command"


class AuthFileError(ValueError):
    """The auth file is missing or malformed; the message names the file, the line and the fix."""


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=2 * 128 * n * r * p, dklen=KEY_BYTES)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$n$r$p$salt$key`` for ``password``, with a fresh random salt unless one is given."""
    if not password:
        raise ValueError("空のパスワードは使えません / the password is empty")
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    key = _scrypt(password, salt, **COST)
    return f"{SCHEME}${COST['n']}${COST['r']}${COST['p']}${_b64(salt)}${_b64(key)}"


def _parse_hash(encoded: str) -> tuple[bytes, dict, bytes]:
    """(salt, cost, key) of an encoded hash; ValueError saying what is wrong."""
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        raise ValueError(f"the hash is not '{SCHEME}$n$r$p$salt$key'")
    try:
        n, r, p = (int(value) for value in parts[1:4])
        salt, key = (base64.b64decode(value, validate=True) for value in parts[4:])
    except (ValueError, binascii.Error):
        raise ValueError("its numbers or base64 parts are damaged") from None
    if n < 2 or n & (n - 1) or r < 1 or p < 1 or n * r * p > 2 ** 24 or not salt or len(key) != KEY_BYTES:
        raise ValueError("its cost, salt or key is out of range")
    return salt, {"n": n, "r": r, "p": p}, key


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches ``encoded`` (constant-time comparison)."""
    salt, cost, key = _parse_hash(encoded)
    return hmac.compare_digest(_scrypt(password, salt, **cost), key)


def read_auth_file(path: str | os.PathLike) -> dict[str, str]:
    """``{user: hash}`` from an auth file; :class:`AuthFileError` naming the file and line otherwise."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AuthFileError(f"ログイン用ファイル {path} がありません / auth file {path} not found. {FIX}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise AuthFileError(f"ログイン用ファイル {path} を読めません / cannot read auth file {path}: "
                            f"{error}") from None
    users: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, colon, encoded = line.partition(":")
        user = user.strip()
        where = f"{path}, {number} 行目 / line {number}"
        if not colon or not user:
            problem = "'ユーザー名:ハッシュ' の形ではありません / not 'user:hash'"
        elif user in users:
            problem = f"ユーザー {user!r} が 2 回あります / user {user!r} appears twice"
        else:
            try:
                _parse_hash(encoded.strip())
            except ValueError as error:
                problem = f"ハッシュが正しくありません / bad hash: {error}"
            else:
                users[user] = encoded.strip()
                continue
        raise AuthFileError(f"{where}: {problem}. {FIX}")
    if not users:
        raise AuthFileError(f"ログイン用ファイル {path} にユーザーがいません / auth file {path} has no user "
                            f"(nobody could log in). {FIX}")
    return users


def authenticator(users: dict[str, str]):
    """Gradio's ``auth=`` function for the users of an auth file.

    A coroutine function (Gradio awaits only those), so that the deliberately
    slow hash runs in a thread, not in the server's event loop; an unknown
    user costs the same as a wrong password.
    """
    users = dict(users)
    decoy = hash_password(os.urandom(8).hex())

    def check(username: str, password: str) -> bool:
        matches = verify_password(password, users.get(username, decoy))
        return username in users and matches

    async def login(username: str, password: str) -> bool:
        return await asyncio.to_thread(check, username, password)

    return login
