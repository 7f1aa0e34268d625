"""Encryption of GNTP messages: AES-192, DES and 3DES in CBC mode with PKCS#7 padding (§9).

The cipher key is the first ``key_size`` bytes of the GNTP :class:`~gntplib.keys.Key`, so the
hash must be long enough (SHA256 or SHA512 for AES and 3DES). Needs pycryptodomex, imported
on first use: ``pip install 'gntplib[crypto]'``.

Example:
    >>> from gntplib.keys import SHA256
    >>> from gntplib.ciphers import AES
    >>> cipher = AES.cipher(SHA256.key('password'))
    >>> cipher.decrypt(cipher.encrypt(b'secret data'))
    b'secret data'

.. warning:: DES is broken by modern standards; it is here for old peers only.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Tuple

from .constants import random_bytes
from .exceptions import GNTPEncryptionError, GNTPValidationError
from .keys import Key

__all__ = ['Algorithm', 'Cipher', 'NullCipher', 'AES', 'DES', 'DES3', 'ALGORITHMS',
           'UnsupportedCipherError', 'get_algorithm', 'ALGORITHM_MAP', 'KEY_SIZE_MAP']

# algorithm id -> (Cryptodome module name, block size)
_CIPHER_MODULES: Dict[str, Tuple[str, int]] = {
    'AES': ('AES', 16),
    'DES': ('DES', 8),
    '3DES': ('DES3', 8),
}


@functools.lru_cache(maxsize=None)
def _cipher_module(algorithm_id: str) -> Any:
    """Import the Cryptodome cipher module lazily, so ``import gntplib`` stays light."""
    module_name = _CIPHER_MODULES[algorithm_id][0]
    try:
        module = __import__(f'Cryptodome.Cipher.{module_name}', fromlist=[module_name])
    except ImportError:
        raise GNTPEncryptionError(
            f"{algorithm_id} encryption needs pycryptodomex: pip install 'gntplib[crypto]'"
        ) from None
    return module


#: ``run(key, iv, data, encrypt)``: one whole CBC pass over block-aligned ``data``.
CBCRunner = Callable[[bytes, bytes, bytes, bool], bytes]


@functools.lru_cache(maxsize=None)
def _direct_aes_cbc() -> Optional[CBCRunner]:
    """AES-CBC through the compiled functions behind pycryptodomex's ``AES.new``, or ``None``.

    For a message-sized input ``AES.new(...).encrypt(...)`` spends about half its time in
    keyword handling and mode dispatch written in Python; calling the same compiled functions
    directly saves that on every encrypted message (benchmarks/README.md). They are
    pycryptodomex internals, so the path is used only if it loads and agrees with the public
    API on a known input; otherwise ciphers go through ``AES.new`` as usual.
    """
    try:
        raw = importlib.import_module('Cryptodome.Util._raw_api')
        cbc = importlib.import_module('Cryptodome.Cipher._mode_cbc').raw_cbc_lib
        aes = _cipher_module('AES')
        aesni = getattr(aes, '_raw_aesni_lib', None)
        if aesni:
            start, stop = aesni.AESNI_start_operation, aesni.AESNI_stop_operation
        else:
            start, stop = aes._raw_aes_lib.AES_start_operation, aes._raw_aes_lib.AES_stop_operation
        cbc_start, cbc_stop = cbc.CBC_start_operation, cbc.CBC_stop_operation
        cbc_encrypt, cbc_decrypt = cbc.CBC_encrypt, cbc.CBC_decrypt
        void_pointer, size_t = raw.VoidPointer, raw.c_size_t
        new_buffer, buffer_bytes = raw.create_string_buffer, raw.get_raw_buffer
    except Exception:  # any change in the internals: use the public API
        return None

    def run(key: bytes, iv: bytes, data: bytes, encrypt: bool) -> bytes:
        block_cipher = void_pointer()
        if start(key, size_t(len(key)), block_cipher.address_of()):
            raise ValueError(f'AES rejected a {len(key)}-byte key')
        state = void_pointer()
        if cbc_start(block_cipher.get(), iv, size_t(len(iv)), state.address_of()):
            stop(block_cipher.get())
            raise ValueError(f'CBC rejected a {len(iv)}-byte IV')
        try:  # the CBC state owns the block cipher from here: stopping it frees both
            output = new_buffer(len(data))
            if (cbc_encrypt if encrypt else cbc_decrypt)(state.get(), data, output,
                                                         size_t(len(data))):
                raise ValueError('data is not a whole number of blocks')
        finally:
            cbc_stop(state.get())
        return bytes(buffer_bytes(output))

    key, iv, plaintext = bytes(range(24)), bytes(range(16, 32)), bytes(range(48))
    try:
        expected = aes.new(key, aes.MODE_CBC, iv).encrypt(plaintext)
        agrees = (run(key, iv, plaintext, True) == expected
                  and run(key, iv, expected, False) == plaintext)
    except Exception:
        agrees = False
    return run if agrees else None


class Algorithm:
    """An encryption algorithm; use it as a factory of :class:`Cipher` objects.

    Attributes:
        algorithm_id: The identifier sent on the wire (``'AES'``, ``'DES'``, ``'3DES'``).
        key_size: The number of key bytes the cipher uses.
        block_size: The cipher's block size, which is also the IV size.
    """

    def __init__(self, algorithm_id: str, key_size: int) -> None:
        self.algorithm_id = algorithm_id
        self.key_size = key_size
        self.block_size = _CIPHER_MODULES[algorithm_id][1] if algorithm_id in _CIPHER_MODULES \
            else 0

    def cipher(self, key: Key, iv: Optional[bytes] = None) -> 'Cipher':
        """Create a :class:`Cipher` with this algorithm.

        Example:
            >>> from gntplib import keys, ciphers
            >>> cipher = ciphers.AES.cipher(keys.SHA256.key('mypassword'))
        """
        return Cipher(key, self.algorithm_id, iv)

    def __repr__(self) -> str:
        return f'Algorithm({self.algorithm_id!r}, {self.key_size})'


AES = Algorithm('AES', 24)
DES = Algorithm('DES', 8)
DES3 = Algorithm('3DES', 24)
ALGORITHMS: Dict[str, Algorithm] = {a.algorithm_id: a for a in (AES, DES, DES3)}
#: Cipher key size in bytes by algorithm ID (gntplib 0.5's name).
KEY_SIZE_MAP: Dict[str, int] = {a.algorithm_id: a.key_size for a in ALGORITHMS.values()}


class _CipherModules(Mapping[str, Any]):
    """Algorithm ID -> the pycryptodomex cipher module (``Cryptodome.Cipher.AES``, ...),
    imported when first looked up so that importing gntplib stays light."""

    def __getitem__(self, algorithm_id: str) -> Any:
        if algorithm_id not in _CIPHER_MODULES:
            raise KeyError(algorithm_id)
        return _cipher_module(algorithm_id)

    def __iter__(self) -> Iterator[str]:
        return iter(_CIPHER_MODULES)

    def __len__(self) -> int:
        return len(_CIPHER_MODULES)

    def __repr__(self) -> str:
        return f'<ALGORITHM_MAP {list(_CIPHER_MODULES)}>'


#: The pycryptodomex module of each algorithm ID (gntplib 0.5's name; 0.5 mapped to
#: PyCrypto's modules). Raises :class:`~gntplib.exceptions.GNTPEncryptionError` on lookup
#: when pycryptodomex is missing.
ALGORITHM_MAP: Mapping[str, Any] = _CipherModules()


class UnsupportedCipherError(GNTPEncryptionError, GNTPValidationError):
    """The encryption algorithm is not one GNTP defines (both an encryption and a
    validation error: the API reference documents the former, the design the latter)."""


def get_algorithm(algorithm_id: str) -> Algorithm:
    """Return the encryption :class:`Algorithm` named ``algorithm_id`` (any case).

    Raises:
        UnsupportedCipherError: If the algorithm is not supported.
    """
    try:
        return ALGORITHMS[algorithm_id.upper()]
    except (KeyError, AttributeError):
        raise UnsupportedCipherError(
            f'unsupported encryption algorithm {algorithm_id!r} '
            f'(use one of {", ".join(ALGORITHMS)})') from None


class Cipher:
    """Encrypts and decrypts GNTP message parts in CBC mode with PKCS#7 padding.

    Every part is encrypted from the same IV (CBC starts afresh for each part), as GNTP asks.

    Attributes:
        key: The :class:`~gntplib.keys.Key` whose first ``key_size`` bytes are the cipher key.
        algorithm_id: ``'AES'``, ``'DES'`` or ``'3DES'``.
        key_size: Cipher key size in bytes.
        block_size: Block (and IV) size in bytes.
        iv: The initialization vector.

    Raises:
        GNTPEncryptionError: If the algorithm is not supported or pycryptodomex is not
            installed.
        GNTPValidationError: If the key is too short or the IV the wrong size.
    """

    def __init__(self, key: Key, algorithm_id: str = 'AES', iv: Optional[bytes] = None) -> None:
        algorithm = get_algorithm(algorithm_id)
        if len(key.key) < algorithm.key_size:
            raise GNTPValidationError(
                f'{algorithm.algorithm_id} needs a {algorithm.key_size}-byte key but '
                f'{key.algorithm_id} gives only {len(key.key)} bytes; use SHA256 or SHA512')
        iv = random_bytes(algorithm.block_size) if iv is None else bytes(iv)
        if len(iv) != algorithm.block_size:
            raise GNTPValidationError(f'{algorithm.algorithm_id} needs a '
                                      f'{algorithm.block_size}-byte IV, got {len(iv)} bytes')
        self._setup(algorithm, key, iv)

    @classmethod
    def _from_checked(cls, algorithm: Algorithm, key: Key, iv: bytes) -> 'Cipher':
        """A cipher from arguments already checked (key long enough, IV one block): the
        per-message path of :class:`~gntplib.packers.MessagePackerFactory`."""
        cipher = cls.__new__(cls)
        cipher._setup(algorithm, key, iv)
        return cipher

    def _setup(self, algorithm: Algorithm, key: Key, iv: bytes) -> None:
        self.algorithm_id = algorithm.algorithm_id
        self.key_size = algorithm.key_size
        self.block_size = algorithm.block_size
        self.key = key
        self.iv = iv
        self.algorithm = _cipher_module(self.algorithm_id)

    @property
    def iv_hex(self) -> bytes:
        """The IV as upper-case hex bytes."""
        return self.iv.hex().upper().encode('ascii')

    @property
    def info_token(self) -> str:
        """The ``<algorithm>:<iv>`` token of an information line."""
        return f'{self.algorithm_id}:{self.iv.hex().upper()}'

    def _cbc(self, data: bytes, encrypt: bool) -> bytes:
        key = self.key.key[:self.key_size]
        direct = _direct_aes_cbc() if self.algorithm_id == 'AES' else None
        if direct is not None:
            return direct(key, self.iv, data, encrypt)
        cipher = self.algorithm.new(key, self.algorithm.MODE_CBC, self.iv)
        result: bytes = cipher.encrypt(data) if encrypt else cipher.decrypt(data)
        return result

    def encrypt(self, plaintext: bytes) -> bytes:
        """Pad ``plaintext`` (PKCS#7) and encrypt it.

        Example:
            >>> ciphertext = cipher.encrypt(b'secret message')  # doctest: +SKIP
        """
        pad = self.block_size - len(plaintext) % self.block_size
        try:
            return self._cbc(bytes(plaintext) + bytes([pad]) * pad, True)
        except (ValueError, TypeError) as exc:
            raise GNTPEncryptionError(f'{self.algorithm_id} encryption failed: {exc}') from exc

    def decrypt(self, ciphertext: bytes) -> bytes:
        """Decrypt ``ciphertext`` and remove its PKCS#7 padding.

        Raises:
            GNTPEncryptionError: If the length is not a multiple of the block size or the
                padding is invalid (a wrong key, IV or tampered data).
        """
        if not ciphertext or len(ciphertext) % self.block_size:
            raise GNTPEncryptionError(
                f'{self.algorithm_id} ciphertext length {len(ciphertext)} is not a positive '
                f'multiple of {self.block_size}')
        padded = self._cbc(bytes(ciphertext), False)
        pad = padded[-1]
        if not 1 <= pad <= self.block_size or padded[-pad:] != bytes([pad]) * pad:
            raise GNTPEncryptionError(
                f'{self.algorithm_id} decryption gave invalid padding (wrong key or IV?)')
        return padded[:-pad]

    def with_new_iv(self) -> 'Cipher':
        """Return a cipher with the same key and algorithm and a fresh random IV."""
        return Cipher(self.key, self.algorithm_id)

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return f'<Cipher algorithm={self.algorithm_id!r}>'


class NullCipher:
    """The ``NONE`` encryption: passes data through unchanged, and is false."""

    algorithm_id = 'NONE'
    info_token = 'NONE'
    #: No cipher module (gntplib 0.5 tested this attribute).
    algorithm = None

    def encrypt(self, plaintext: bytes) -> bytes:
        """Return ``plaintext`` unchanged."""
        return plaintext

    def decrypt(self, ciphertext: bytes) -> bytes:
        """Return ``ciphertext`` unchanged."""
        return ciphertext

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return '<NullCipher>'
