"""Authentication keys for GNTP messages (gntp-protocol.md §8).

A key is derived from a password and a fresh salt: ``key = H(utf8(password) + salt)`` and
``key_hash = H(key)``. Only the key hash and the salt travel on the wire; the key itself is
secret and doubles as the encryption key. Supports MD5, SHA1, SHA256 and SHA512.

Example:
    >>> from gntplib.keys import SHA256
    >>> key = SHA256.key('my-password')
    >>> key.verify_password('my-password')
    True
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Callable, Dict, Iterable, Optional, Tuple, Union

from .constants import SALT_SIZE, random_bytes
from .exceptions import GNTPValidationError

__all__ = ['Algorithm', 'Key', 'MD5', 'SHA1', 'SHA256', 'SHA512', 'ALGORITHMS',
           'get_algorithm', 'find_matching_key', 'password_tuple', 'MIN_SALT_BYTES',
           'MAX_SALT_BYTES', 'random_salt']

#: The shortest salt the spec allows, in bytes.
MIN_SALT_BYTES = 4
#: The longest salt the spec suggests, in bytes (what gntplib sends: ``SALT_SIZE``).
MAX_SALT_BYTES = SALT_SIZE

_HASH_FUNCTIONS: Dict[str, Callable[[bytes], 'hashlib._Hash']] = {
    'MD5': hashlib.md5,
    'SHA1': hashlib.sha1,
    'SHA256': hashlib.sha256,
    'SHA512': hashlib.sha512,
}


class Algorithm:
    """A key-hashing algorithm; use it as a factory of :class:`Key` objects.

    Attributes:
        algorithm_id: The identifier sent on the wire (e.g. ``'SHA256'``).
        key_size: Size of the hash output, and so of the key, in bytes.
    """

    def __init__(self, algorithm_id: str, key_size: int) -> None:
        self.algorithm_id = algorithm_id
        self.key_size = key_size

    def key(self, password: str, salt: Optional[bytes] = None) -> 'Key':
        """Create a :class:`Key` for ``password`` with this algorithm.

        Args:
            password: The shared password.
            salt: Salt bytes; a fresh random salt when ``None``.

        Example:
            >>> key = SHA256.key('mypassword')
        """
        return Key(password, self.algorithm_id, salt)

    def __repr__(self) -> str:
        return f'Algorithm({self.algorithm_id!r}, {self.key_size})'


MD5 = Algorithm('MD5', 16)
SHA1 = Algorithm('SHA1', 20)
SHA256 = Algorithm('SHA256', 32)
SHA512 = Algorithm('SHA512', 64)
ALGORITHMS: Dict[str, Algorithm] = {a.algorithm_id: a for a in (MD5, SHA1, SHA256, SHA512)}


def get_algorithm(algorithm_id: str) -> Algorithm:
    """Return the hashing :class:`Algorithm` named ``algorithm_id`` (any case).

    Raises:
        GNTPValidationError: If the algorithm is not supported.
    """
    try:
        return ALGORITHMS[algorithm_id.upper()]
    except (KeyError, AttributeError):
        raise GNTPValidationError(
            f'unsupported key hash algorithm {algorithm_id!r} '
            f'(use one of {", ".join(ALGORITHMS)})') from None


def random_salt() -> bytes:
    """A fresh salt from :mod:`secrets`: :data:`MAX_SALT_BYTES` random bytes (gntplib 0.5
    drew a length from 4 to 16; the longest is the safest).

    Example:
        >>> MIN_SALT_BYTES <= len(random_salt()) <= MAX_SALT_BYTES
        True
    """
    return random_bytes(MAX_SALT_BYTES)


class Key:
    """Authentication key derived from a password and a salt.

    The password and the derived key are kept private: they never appear in ``repr()``.

    Attributes:
        algorithm_id: Hash algorithm identifier.
        salt: The salt used in key derivation.
        key: The derived key, ``H(password + salt)``.
        key_hash: ``H(key)``, the value sent on the wire.

    Raises:
        GNTPValidationError: (a ``ValueError``) if ``algorithm_id`` is not supported.

    Example:
        >>> key = Key('secret', 'SHA256')
        >>> key.verify_password('wrong')
        False
    """

    def __init__(self, password: str, algorithm_id: str = 'SHA256',
                 salt: Optional[bytes] = None) -> None:
        algorithm = get_algorithm(algorithm_id)
        if not isinstance(password, str):
            raise GNTPValidationError(f'password must be a str, not {type(password).__name__}')
        self._derive(algorithm.algorithm_id, password.encode('utf-8'),
                     random_salt() if salt is None else bytes(salt))

    @classmethod
    def _from_checked(cls, algorithm_id: str, password: bytes, salt: bytes) -> 'Key':
        """Derive a key from arguments already checked (an upper-case ID, UTF-8 bytes): the
        per-message path of :class:`~gntplib.packers.MessagePackerFactory`."""
        key = cls.__new__(cls)
        key._derive(algorithm_id, password, salt)
        return key

    def _derive(self, algorithm_id: str, password: bytes, salt: bytes) -> None:
        self.algorithm_id = algorithm_id
        self.password = password
        self.salt = salt
        self._hash = _HASH_FUNCTIONS[algorithm_id]
        self.key = self._hash(password + salt).digest()
        self.key_hash = self._hash(self.key).digest()

    @property
    def salt_hex(self) -> bytes:
        """The salt as lower-case hex bytes (as gntplib 0.5 gave it; the information line
        carries upper case, see :attr:`info_token`)."""
        return self.salt.hex().encode('ascii')

    @property
    def key_hex(self) -> bytes:
        """The derived key as lower-case hex bytes (as gntplib 0.5 gave it; the information line
        carries upper case, see :attr:`info_token`)."""
        return self.key.hex().encode('ascii')

    @property
    def key_hash_hex(self) -> bytes:
        """The key hash as lower-case hex bytes (as gntplib 0.5 gave it; the information line
        carries upper case, see :attr:`info_token`)."""
        return self.key_hash.hex().encode('ascii')

    @property
    def info_token(self) -> str:
        """The ``<algorithm>:<keyHash>.<salt>`` token of an information line."""
        return f'{self.algorithm_id}:{self.key_hash.hex().upper()}.{self.salt.hex().upper()}'

    def verify_password(self, password: str) -> bool:
        """Tell whether ``password`` derives this key (compared in constant time).

        Example:
            >>> Key('secret', 'SHA256').verify_password('secret')
            True
        """
        candidate = self._hash(password.encode('utf-8') + self.salt).digest()
        return hmac.compare_digest(candidate, self.key)

    def matches_key_hash(self, key_hash: bytes) -> bool:
        """Tell whether ``key_hash`` equals this key's hash (constant time)."""
        return hmac.compare_digest(self.key_hash, key_hash)

    def __repr__(self) -> str:
        return f'<Key algorithm={self.algorithm_id!r} salt={self.salt.hex().upper()!r}>'

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Key):
            return NotImplemented
        return (self.algorithm_id == other.algorithm_id and self.salt == other.salt
                and hmac.compare_digest(self.key, other.key))

    def __hash__(self) -> int:
        return hash((self.algorithm_id, self.key_hash))


def password_tuple(password: Union[None, str, Iterable[str]]) -> Tuple[str, ...]:
    """Normalise "no password", one password or several into a tuple of passwords."""
    if password is None:
        return ()
    if isinstance(password, str):
        return (password,)
    return tuple(password)


def find_matching_key(passwords: Iterable[str], algorithm_id: str, key_hash: bytes,
                      salt: bytes) -> Optional[Key]:
    """Return the :class:`Key` of the first password whose key hash is ``key_hash``.

    Every password is tried (no early exit on length), and each comparison is constant-time.

    Raises:
        GNTPValidationError: If ``algorithm_id`` is not supported.
    """
    found = None
    for password in passwords:
        key = Key(password, algorithm_id, salt)
        if key.matches_key_hash(key_hash) and found is None:
            found = key
    return found
