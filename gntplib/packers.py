"""Turning requests and responses into GNTP bytes (§3, §7, §8, §9).

A :class:`MessagePackerFactory` holds the client's security settings and makes one
:class:`MessagePacker` per message, each with a fresh salt and IV.

Example:
    >>> from gntplib import Event, RegisterRequest
    >>> from gntplib.keys import SHA256
    >>> factory = MessagePackerFactory(password='s3cret', hashing=SHA256)
    >>> data = factory.create().pack(RegisterRequest('App', None, [Event('update')]))
    >>> data.startswith(b'GNTP/1.0 REGISTER NONE SHA256:')
    True
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple, Union

from . import constants as c
from .ciphers import (
    Algorithm as CipherAlgorithm, Cipher, NullCipher, _cipher_module,
    get_algorithm as get_cipher_algorithm,
)
from .exceptions import GNTPValidationError
from .keys import SHA256, Algorithm as KeyAlgorithm, Key, get_algorithm as get_key_algorithm
from .models import Resource, format_header_value
from .requests import BaseRequest, RawSection, Response

__all__ = ['MessagePackerFactory', 'MessagePacker', 'InformationLinePacker', 'HeaderPacker',
           'SectionPacker', 'pack_response', 'check_security', 'SENT_WHEN_EMPTY',
           'plain_cipher']

#: Re-encrypting with a new IV makes a framing clash vanishingly unlikely (§9.5); the loop
#: bound only guards against a broken cipher.
_MAX_ENCRYPT_ATTEMPTS = 64


def _algorithm_id(algorithm: Any) -> Any:
    """An algorithm object's ID; a name (or anything else) as it is, for the lookup to judge."""
    return getattr(algorithm, 'algorithm_id', algorithm)


def check_security(password: Optional[str], hashing: Union[None, str, KeyAlgorithm],
                   encryption: Union[None, str, CipherAlgorithm]
                   ) -> Tuple[KeyAlgorithm, Optional[CipherAlgorithm]]:
    """Refuse an impossible security setting before anything is sent.

    Algorithms may be given as objects or by name (any case).

    Returns:
        The hashing algorithm (SHA256 when ``None``) and the encryption algorithm, as the
        module constants of :mod:`gntplib.keys` and :mod:`gntplib.ciphers`.

    Raises:
        GNTPValidationError: an algorithm GNTP does not define, encryption without a
            password, or a hash too short for the cipher (MD5 or SHA1 with AES or 3DES, §9.2).
        GNTPEncryptionError: encryption asked for but pycryptodomex is not installed.
    """
    if password is not None and not isinstance(password, str):
        raise GNTPValidationError(f'password must be a str, not {type(password).__name__}')
    hashing = SHA256 if hashing is None else \
        get_key_algorithm(_algorithm_id(hashing))
    if encryption is None:
        return hashing, None
    encryption = get_cipher_algorithm(_algorithm_id(encryption))
    if password is None:
        raise GNTPValidationError(f'{encryption.algorithm_id} encryption needs a password')
    if encryption.key_size > hashing.key_size:
        raise GNTPValidationError(
            f'{hashing.algorithm_id} gives a {hashing.key_size}-byte key, too short for '
            f'{encryption.algorithm_id} ({encryption.key_size} bytes); use SHA256 or SHA512')
    _cipher_module(encryption.algorithm_id)
    return hashing, encryption


class InformationLinePacker:
    """Packs the information line: ``GNTP/1.0 <type> <encryption>[ <key token>]``."""

    def __init__(self, key: Optional[Key], cipher: Union[Cipher, NullCipher]) -> None:
        self.key = key
        self.cipher = cipher

    def pack(self, message_type: str) -> bytes:
        """Return the line, with its CR LF."""
        return _information_line(message_type, self.key, self.cipher)


_VERSION = f'GNTP/{c.PROTOCOL_VERSION} '


def _information_line(message_type: str, key: Optional[Key],
                      cipher: Union[Cipher, NullCipher]) -> bytes:
    # A function, not an InformationLinePacker per message: the packer object is 0.5's API.
    if key is None:
        return f'{_VERSION}{message_type} {cipher.info_token}\r\n'.encode('ascii')
    return f'{_VERSION}{message_type} {cipher.info_token} {key.info_token}\r\n'.encode('ascii')


class HeaderPacker:
    """Packs one header line; leaves the header out when its value is ``None`` or empty
    (GfW drops a ``Name:`` line with an empty value, §3.3)."""

    @staticmethod
    def format(name: str, value: Any) -> str:
        """Return the line as text, with its CR LF (``''`` to leave the header out)."""
        text = format_header_value(value)
        return f'{name}: {text}\r\n' if text else ''

    @staticmethod
    def pack(name: str, value: Any) -> bytes:
        """Return the line as UTF-8 bytes, with its CR LF (``b''`` to leave it out)."""
        return HeaderPacker.format(name, value).encode('utf-8')


#: Headers sent even when their value is empty. growl-for-linux refuses a NOTIFY without
#: ``Notification-Text`` (it accepts an empty one), and gntplib 0.5 always sent it.
SENT_WHEN_EMPTY = frozenset({'Notification-Text'})


class SectionPacker:
    """Packs the header sections into one block, and lists the resources they point to.

    A header whose value is ``None`` or empty is left out, except those in
    :data:`SENT_WHEN_EMPTY`, which go out with an empty value.

    Resources are listed once per pointer header, in header order: the layout every server,
    Growl for Windows included, reads correctly (§7.4).
    """

    def __init__(self) -> None:
        self.resources: List[Tuple[str, bytes]] = []

    def pack(self, sections: List[RawSection]) -> bytes:
        """Return the header block: sections joined by blank lines, without the last one."""
        packed = []
        for section in sections:
            for name, value in section:
                if value is None:  # most optional headers are absent: skip them early
                    continue
                if type(value) is str and '\r' not in value:  # as format_header_value
                    if value:
                        packed.append(f'{name}: {value}\r\n')
                    elif name in SENT_WHEN_EMPTY:
                        packed.append(f'{name}: \r\n')
                    continue
                text = format_header_value(value)
                if text:
                    packed.append(f'{name}: {text}\r\n')
                elif name in SENT_WHEN_EMPTY:
                    packed.append(f'{name}: \r\n')
                if isinstance(value, Resource) and value.data is not None:
                    self.resources.append((value.identifier() or '', value.data))
            packed.append('\r\n')
        # Encode once: the blank line after the last section is not part of the block.
        return ''.join(packed)[:-2].encode('utf-8')


_PLAIN = NullCipher()
#: The shared ``NONE`` cipher object (``gntplib.NullCipher``).
plain_cipher = _PLAIN


def _clashes_with_framing(ciphertext: bytes) -> bool:
    # Receivers find the end of the encrypted block at the first CRLFCRLF (§9.5).
    return c.MESSAGE_DELIMITER in ciphertext or ciphertext.endswith(c.LINE_DELIMITER)


class MessagePacker:
    """Packs one message with one key and one cipher.

    Args:
        key: The :class:`~gntplib.keys.Key` to authenticate with, or ``None``.
        cipher: A :class:`~gntplib.ciphers.Cipher`, or ``None`` for plain text.

    Example (fixed salt and IV give fixed bytes)::

        key = Key('pässwörd€', 'SHA256', salt=bytes.fromhex('5A17F00DC0FFEE42A1B2C3D4E5F60718'))
        data = MessagePacker(key).pack(request)
    """

    def __init__(self, key: Optional[Key] = None,
                 cipher: Optional[Union[Cipher, NullCipher]] = None) -> None:
        self.key = key
        self.cipher: Union[Cipher, NullCipher] = cipher if cipher is not None else _PLAIN

    def pack(self, request: BaseRequest) -> bytes:
        """Return the complete message for ``request``."""
        return b''.join(self.pack_parts(request))

    def pack_parts(self, request: BaseRequest) -> List[bytes]:
        """Return the message as a list of byte strings to write one after another.

        Large resources are not copied into one big buffer.
        """
        sections = SectionPacker()
        block = sections.pack(request.header_sections())
        cipher = self.cipher
        if cipher is _PLAIN or not cipher:  # the shared NONE cipher needs no __bool__ call
            parts = [_information_line(request.message_type, self.key, cipher) + block
                     + c.LINE_DELIMITER]
            if not sections.resources:
                return parts
            payloads: Dict[str, bytes] = dict(sections.resources)
        else:
            ciphertext = self.cipher.encrypt(block)
            for _ in range(_MAX_ENCRYPT_ATTEMPTS):
                if not _clashes_with_framing(ciphertext):
                    break
                assert isinstance(self.cipher, Cipher)
                self.cipher = self.cipher.with_new_iv()
                ciphertext = self.cipher.encrypt(block)
            head = _information_line(request.message_type, self.key, self.cipher)
            parts = [head + ciphertext + c.MESSAGE_DELIMITER]
            payloads = {identifier: self.cipher.encrypt(data)
                        for identifier, data in dict(sections.resources).items()}
        for identifier, _ in sections.resources:
            payload = payloads[identifier]
            parts.append(f'Identifier: {identifier}\r\nLength: {len(payload)}\r\n\r\n'
                         .encode('ascii'))
            parts.append(payload)
            parts.append(c.MESSAGE_DELIMITER)
        return parts


class MessagePackerFactory:
    """Makes a :class:`MessagePacker` per message, each with a fresh salt and IV.

    Args:
        password: The shared password, or ``None`` for no authentication.
        hashing: The key-hashing :class:`~gntplib.keys.Algorithm` or its name (default
            SHA256).
        encryption: The :class:`~gntplib.ciphers.Algorithm` or its name, or ``None`` for
            plain text.

    Raises:
        GNTPValidationError: If an algorithm is not one GNTP defines, the hash is too short
            for the cipher, or encryption is asked for without a password.
        GNTPEncryptionError: If encryption is asked for and pycryptodomex is missing.
    """

    def __init__(self, password: Optional[str] = None,
                 hashing: Union[None, str, KeyAlgorithm] = None,
                 encryption: Union[None, str, CipherAlgorithm] = None) -> None:
        self.hashing, self.encryption = check_security(password, hashing, encryption)
        self._password = password
        self._password_bytes = password.encode('utf-8') if password is not None else b''
        # Without a password a packer has no key, no salt and no IV, and packing does not
        # change it: one serves every message.
        self._plain = MessagePacker()

    def create(self) -> MessagePacker:
        """Return a packer with a new key (fresh salt) and cipher (fresh IV); without a
        password, the factory's one plain packer."""
        if self._password is None:
            return self._plain
        # One draw of random bytes gives both the salt and the IV.
        block_size = self.encryption.block_size if self.encryption is not None else 0
        randomness = c.random_bytes(c.SALT_SIZE + block_size)
        key = Key._from_checked(self.hashing.algorithm_id, self._password_bytes,
                                randomness[:c.SALT_SIZE])
        if self.encryption is None:
            return MessagePacker(key)
        return MessagePacker(key, Cipher._from_checked(self.encryption, key,
                                                       randomness[c.SALT_SIZE:]))

    def __repr__(self) -> str:
        hashing = self.hashing.algorithm_id if self._password else None
        encryption = self.encryption.algorithm_id if self.encryption else None
        return f'<MessagePackerFactory hashing={hashing} encryption={encryption}>'


def pack_response(response: Response, cipher: Optional[Cipher] = None) -> bytes:
    """Pack a response (the inverse of :func:`~gntplib.requests.parse_response`).

    Args:
        response: The response to send.
        cipher: Encrypt ``-OK`` and ``-CALLBACK`` with this cipher (the spec's optional mode,
            §9.6). ``-ERROR`` is always plain.
    """
    block = ''.join(HeaderPacker.format(name, value)
                    for name, value in response.headers.items()).encode('utf-8')
    if cipher is None or response.message_type == c.RESPONSE_ERROR:
        return _response_head(response, 'NONE') + block + c.LINE_DELIMITER
    return _response_head(response, cipher.info_token) + cipher.encrypt(block) + \
        c.MESSAGE_DELIMITER


def _response_head(response: Response, encryption_token: str) -> bytes:
    line = f'GNTP/{c.PROTOCOL_VERSION} {response.message_type} {encryption_token}\r\n'
    return line.encode('ascii')
