"""Reading GNTP requests from a byte stream: the server-side twin of the packers (§3.7).

:class:`RequestReader` is fed bytes as they arrive and hands out complete requests. It
checks the key hash as soon as the information line is in, decrypts encrypted requests,
reads binary sections by their ``Length`` (never by searching for CR LF CR LF), accepts both
resource layouts (one section per pointer, or one per identifier, §7.4) and enforces size
limits. No I/O.

Example:
    >>> request = parse_request(b'GNTP/1.0 NOTIFY NONE\\r\\nApplication-Name: App\\r\\n'
    ...                         b'Notification-Name: update\\r\\n'
    ...                         b'Notification-Title: Hi\\r\\n\\r\\n')
    >>> request.notification.title
    'Hi'
"""

from __future__ import annotations

import dataclasses
import re
from typing import Dict, Iterable, List, Optional, Set, Tuple, Union

from . import constants as c
from .ciphers import Cipher
from .exceptions import (
    GNTPAuthenticationError, GNTPEncryptionError, GNTPProtocolError, GNTPResponseError,
)
from .keys import Key, find_matching_key, password_tuple
from .requests import BaseRequest, build_request, resource_or_text
from .wire import InfoLine, Section, parse_header_line, parse_info_line, parse_sections

__all__ = ['RequestReader', 'ReceivedMessage', 'ReaderLimits', 'parse_request']


@dataclasses.dataclass
class ReaderLimits:
    """Size limits a :class:`RequestReader` enforces; a peer exceeding one gets -ERROR 300
    (301 for the information line) with a description naming the limit, e.g.
    ``resource of 9000000 bytes is over the limit of 8388608 bytes``.

    They bound what one connection can make the server hold: at most
    ``max_request_size`` bytes of headers and resources, plus the resource being read. A
    ``Length`` over ``max_resource_size`` is refused before any of its bytes are read,
    and a line or header block over its limit as soon as it grows past it, so a peer
    streaming 100 MB costs the server no more than these limits (see the README's
    "Reliability" section for measured figures).

    Attributes:
        max_request_size: Whole request, headers and resources, in bytes (default
            16 MiB, :data:`~gntplib.constants.MAX_REQUEST_SIZE`).
        max_line_size: Information line, in bytes (default 1024).
        max_header_block_size: All header sections together, in bytes (default 1 MiB).
        max_header_count: Header lines across all sections, and the largest
            ``Notifications-Count`` (default 1000).
        max_resource_size: One binary resource, in bytes (default 8 MiB).
        max_resource_count: Binary sections in one request (default 64).

    Example:
        >>> limits = ReaderLimits(max_resource_size=1024 * 1024)   # 1 MiB icons at most
        >>> limits.max_request_size
        16777216
    """

    max_request_size: int = c.MAX_REQUEST_SIZE
    max_line_size: int = c.MAX_LINE_SIZE
    max_header_block_size: int = c.MAX_HEADER_BLOCK_SIZE
    max_header_count: int = c.MAX_HEADER_COUNT
    max_resource_size: int = c.MAX_RESOURCE_SIZE
    max_resource_count: int = c.MAX_RESOURCE_COUNT


class ReceivedMessage:
    """A request as it arrived: its parts, resources and security.

    Attributes:
        message_type: ``REGISTER``, ``NOTIFY`` or ``SUBSCRIBE``.
        sections: The header sections as ``(name, value)`` pairs in wire order.
        resources: Plaintext resource bytes by identifier.
        key: The :class:`~gntplib.keys.Key` that matched the key hash, or ``None``.
        encryption_algorithm_id: ``NONE``, ``AES``, ``DES`` or ``3DES``.
        cipher: The cipher the request was encrypted with (to encrypt responses), or ``None``.
        size: Bytes the request took on the wire.
    """

    def __init__(self, info: InfoLine, sections: List[Section], resources: Dict[str, bytes],
                 key: Optional[Key], cipher: Optional[Cipher], size: int) -> None:
        self.message_type = info.message_type
        self.sections = sections
        self.resources = resources
        self.key = key
        self.encryption_algorithm_id = info.encryption_algorithm_id
        self.cipher = cipher
        self.size = size

    def headers(self) -> Dict[str, str]:
        """The main section as a dict (later duplicates win)."""
        return dict(self.sections[0]) if self.sections else {}

    def to_request(self) -> BaseRequest:
        """Build the :class:`~gntplib.requests.BaseRequest` this message carries.

        Raises:
            GNTPProtocolError: 303 for a missing required header, 300 for a bad value.
        """
        sections = [[(name, resource_or_text(value, self.resources)) for name, value in section]
                    for section in self.sections]
        request = build_request(self.message_type, sections)
        request.received = self
        # The only header that may repeat (§3.3): every one is kept, in wire order.
        request.received_headers = [value for name, value in self.sections[0]
                                     if name.lower() == 'received'] if self.sections else []
        return request

    def __repr__(self) -> str:
        return (f'<ReceivedMessage {self.message_type} sections={len(self.sections)} '
                f'resources={len(self.resources)} encryption={self.encryption_algorithm_id}>')


# Reader states
_INFO, _HEADERS, _RESOURCE_HEADER, _RESOURCE_DATA, _DONE = range(5)
_NOT_LINE_BREAK = re.compile(rb'[^\r\n]')
#: How often an encrypted header block is extended past a CR LF CR LF that does not end it
#: (§9.5): a real ciphertext holds one by accident about once in 65,000 messages, so a few
#: retries are plenty, and a bound keeps a block full of CR LF CR LF from costing one
#: decryption per delimiter.
_MAX_DECRYPT_RETRIES = 8


class RequestReader:
    """Incremental request parser for one connection.

    Args:
        password: The password (or several) the server accepts; ``None`` for none.
        require_key: Demand a key hash on every request (always done for SUBSCRIBE and
            encrypted requests). Use it for peers that are not on loopback.
        limits: The :class:`ReaderLimits`.

    Authentication follows §8.3: with no password configured, a request carrying a key
    hash is refused (400), as Growl for Windows does; with one, any key hash present is
    verified in constant time.

    Raises (from :meth:`feed` / :meth:`next_message`):
        GNTPProtocolError: Malformed request; ``error_code`` says which -ERROR to send.
        GNTPAuthenticationError: Missing or wrong key hash (400).
    """

    def __init__(self, password: Union[None, str, Iterable[str]] = None,
                 require_key: bool = False, limits: Optional[ReaderLimits] = None) -> None:
        self._passwords = password_tuple(password)
        self.require_key = require_key
        self.limits = limits or ReaderLimits()
        self._buffer = bytearray()
        self._pos = 0
        self._reset()

    def __repr__(self) -> str:
        return f'<RequestReader passwords={len(self._passwords)} require_key={self.require_key}>'

    def _reset(self) -> None:
        self._state = _INFO
        self._info: Optional[InfoLine] = None
        self._key: Optional[Key] = None
        self._cipher: Optional[Cipher] = None
        self._sections: List[Section] = []
        self._sections_wanted = 1
        self._header_count = 0
        self._header_block_start = 0
        self._wanted_ids: Set[str] = set()
        self._resources: Dict[str, bytes] = {}
        self._resource_count = 0
        self._current: Optional[Tuple[str, int]] = None
        self._request_start = 0
        self._discarding = False

    # -- feeding ---------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Add bytes read from the peer."""
        self._buffer += data

    def next_message(self) -> Optional[ReceivedMessage]:
        """Return the next complete request as a :class:`ReceivedMessage`, or ``None``."""
        while True:
            step = self._step()
            if isinstance(step, ReceivedMessage):
                return step
            if not step:
                self._compact()
                return None

    def next_request(self) -> Optional[BaseRequest]:
        """Like :meth:`next_message`, but return the request object."""
        message = self.next_message()
        return None if message is None else message.to_request()

    @property
    def pending(self) -> int:
        """Bytes buffered but not consumed."""
        return len(self._buffer) - self._pos

    @property
    def in_request(self) -> bool:
        """Whether a request has started but not finished (EOF now would truncate it)."""
        return self._state != _INFO or self._leftover_is_request()

    def _leftover_is_request(self) -> bool:
        return bytes(self._buffer[self._pos:]).strip(b'\r\n') != b''

    def _compact(self) -> None:
        if self._pos > 65536 and self._pos * 2 > len(self._buffer):
            del self._buffer[:self._pos]
            self._header_block_start -= self._pos
            self._request_start -= self._pos
            self._pos = 0

    # -- the state machine -----------------------------------------------------------------

    def _step(self) -> Union[bool, ReceivedMessage]:
        """Advance by one unit; return False when more data is needed."""
        if self._state == _INFO:
            return self._read_info_line()
        if self._state == _HEADERS:
            return self._read_headers()
        if self._state == _RESOURCE_HEADER:
            return self._read_resource_header()
        if self._state == _RESOURCE_DATA:
            return self._read_resource_data()
        raise AssertionError('unreachable reader state')  # pragma: no cover

    def _skip_line_breaks(self) -> None:
        # A regex scans at C speed: a peer sending megabytes of CR LF must not cost a
        # Python-level loop per byte.
        match = _NOT_LINE_BREAK.search(self._buffer, self._pos)
        self._pos = len(self._buffer) if match is None else match.start()

    def _check_total(self) -> None:
        if len(self._buffer) - self._request_start > self.limits.max_request_size:
            raise GNTPProtocolError(f'request larger than {self.limits.max_request_size} bytes')

    def _read_info_line(self) -> bool:
        self._skip_line_breaks()
        buf, pos = self._buffer, self._pos
        if pos >= len(buf):
            return False
        # Stray binary sections after a complete request (the per-pointer layout repeats
        # resources the reader no longer needs): read and drop them.
        if self._discarding and buf[pos:pos + 11].lower() == b'identifier:'[:len(buf) - pos]:
            if len(buf) - pos < 11:
                return False
            self._state = _RESOURCE_HEADER
            return True
        if len(buf) - pos >= 4 and buf[pos:pos + 4].upper() != b'GNTP':
            raise GNTPProtocolError(f'not a GNTP request: {bytes(buf[pos:pos + 40])!r}',
                                    c.ERROR_UNKNOWN_PROTOCOL)
        end = buf.find(c.LINE_DELIMITER, pos, pos + self.limits.max_line_size + 2)
        if end < 0:
            if len(buf) - pos > self.limits.max_line_size:
                raise GNTPProtocolError(
                    f'information line longer than {self.limits.max_line_size} bytes',
                    c.ERROR_UNKNOWN_PROTOCOL)
            return False
        self._discarding = False
        self._request_start = pos
        info = parse_info_line(bytes(buf[pos:end]))
        if info.message_type not in c.REQUEST_TYPES:
            raise GNTPProtocolError(f'unknown request type {info.message_type!r}')
        self._authenticate(info)
        self._info = info
        self._pos = end + 2
        self._header_block_start = self._pos
        self._state = _HEADERS
        return True

    def _authenticate(self, info: InfoLine) -> None:
        needs_key = (self.require_key or info.message_type == c.REQUEST_SUBSCRIBE
                     or info.iv is not None)
        if info.key_hash is None:
            if needs_key:
                raise GNTPAuthenticationError('Missing key hash')
            return
        assert info.key_hash_algorithm_id is not None and info.salt is not None
        key = find_matching_key(self._passwords, info.key_hash_algorithm_id, info.key_hash,
                                info.salt)
        if key is None:
            raise GNTPAuthenticationError('Invalid key hash')
        self._key = key
        if info.iv is not None:
            try:
                self._cipher = Cipher(key, info.encryption_algorithm_id, info.iv)
            except GNTPResponseError:  # pragma: no cover - parse_info_line checked these
                raise
            except (GNTPEncryptionError, ValueError) as exc:
                raise GNTPAuthenticationError(f'cannot decrypt: {exc}') from exc

    def _read_headers(self) -> Union[bool, ReceivedMessage]:
        buf = self._buffer
        if self._cipher is not None:
            return self._read_encrypted_headers()
        end = buf.find(c.MESSAGE_DELIMITER, self._pos)
        if end < 0:
            self._check_header_block(len(buf))
            return False
        self._check_header_block(end)
        section = self._parse_section(bytes(buf[self._pos:end]))
        self._pos = end + 4
        self._sections.append(section)
        if len(self._sections) == 1 and self._info and \
                self._info.message_type == c.REQUEST_REGISTER:
            self._sections_wanted = 1 + self._notification_count(section)
        if len(self._sections) >= self._sections_wanted:
            return self._headers_complete()
        return True

    def _check_header_block(self, end: int) -> None:
        if end - self._header_block_start > self.limits.max_header_block_size:
            raise GNTPProtocolError(
                f'header block larger than {self.limits.max_header_block_size} bytes')

    def _parse_section(self, block: bytes) -> Section:
        lines = [line for line in block.split(c.LINE_DELIMITER) if line.strip()]
        self._header_count += len(lines)
        if self._header_count > self.limits.max_header_count:
            raise GNTPProtocolError(f'more than {self.limits.max_header_count} header lines')
        if not lines:
            raise GNTPProtocolError('empty header section')
        return [parse_header_line(line) for line in lines]

    def _notification_count(self, section: Section) -> int:
        value = next((v for n, v in section if n.lower() == 'notifications-count'), None)
        if value is None:
            raise GNTPProtocolError('Required header missing: Notifications-Count',
                                    c.ERROR_REQUIRED_HEADER_MISSING)
        try:
            count = int(value)
        except ValueError:
            raise GNTPProtocolError(f'Notifications-Count is not a number: {value!r}') from None
        if not 1 <= count <= self.limits.max_header_count:
            raise GNTPProtocolError(f'Notifications-Count must be at least 1 and at most '
                                    f'{self.limits.max_header_count}, got {count}')
        return count

    def _read_encrypted_headers(self) -> Union[bool, ReceivedMessage]:
        # The ciphertext ends at the first CRLFCRLF; if that cuts it short (the ciphertext
        # itself contains CRLFCRLF), extend to the next one and retry (§9.5).
        assert self._cipher is not None and self._info is not None
        buf = self._buffer
        search_from = self._pos
        retries = 0
        while True:
            end = buf.find(c.MESSAGE_DELIMITER, search_from)
            if end < 0:
                self._check_header_block(len(buf))
                return False
            self._check_header_block(end)
            try:
                plaintext = self._cipher.decrypt(bytes(buf[self._pos:end]))
                sections = parse_sections(plaintext + c.LINE_DELIMITER)
                break
            except (GNTPEncryptionError, GNTPProtocolError) as exc:
                retries += 1
                if retries <= _MAX_DECRYPT_RETRIES and \
                        buf.find(c.MESSAGE_DELIMITER, end + 1) >= 0:
                    search_from = end + 1
                    continue
                self._check_encrypted_block_framing(end)
                # GNTP has no MAC: bad padding, or a plaintext that is not header lines,
                # means a wrong key or tampered ciphertext (400). The decrypted bytes are
                # not quoted: the -ERROR travels in the clear.
                reason = exc if isinstance(exc, GNTPEncryptionError) \
                    else 'the plaintext is not GNTP headers'
                raise GNTPAuthenticationError(
                    f'cannot decrypt the request (wrong key or tampered data): {reason}') \
                    from (exc if isinstance(exc, GNTPEncryptionError) else None)
        self._pos = end + 4
        self._header_count = sum(len(s) for s in sections)
        if self._header_count > self.limits.max_header_count:
            raise GNTPProtocolError(f'more than {self.limits.max_header_count} header lines')
        if not sections:
            raise GNTPProtocolError('empty encrypted header block')
        if self._info.message_type == c.REQUEST_REGISTER:
            wanted = 1 + self._notification_count(sections[0])
            if len(sections) != wanted:
                raise GNTPProtocolError(f'Notifications-Count says {wanted - 1} but '
                                        f'{len(sections) - 1} sections were sent')
        self._sections = sections
        return self._headers_complete()

    def _check_encrypted_block_framing(self, end: int) -> None:
        """Tell a framing fault from a wrong key: when the block decrypts up to a single
        CR LF followed by ``Identifier:`` (ruby-growl's layout with an icon), the key was
        right and only the blank line before the binary section is missing (300)."""
        assert self._cipher is not None
        block = bytes(self._buffer[self._pos:end])
        cut = block.lower().find(b'\r\nidentifier:')
        if cut <= 0:
            return
        try:
            parse_sections(self._cipher.decrypt(block[:cut]) + c.LINE_DELIMITER)
        except (GNTPEncryptionError, GNTPProtocolError):
            return
        raise GNTPProtocolError(
            'the encrypted header block must end with a blank line (CR LF CR LF) before '
            'the binary sections; it ends with a single CR LF before "Identifier:"')

    def _headers_complete(self) -> Union[bool, ReceivedMessage]:
        prefix = c.RESOURCE_URL_PREFIX
        for section in self._sections:
            for _, value in section:
                if value[:len(prefix)].lower() == prefix:
                    identifier = value[len(prefix):].strip()
                    if identifier:  # a pointer to no identifier points at nothing: text
                        self._wanted_ids.add(identifier)
        if not self._wanted_ids:
            return self._finish()
        self._state = _RESOURCE_HEADER
        return True

    def _read_resource_header(self) -> bool:
        self._skip_line_breaks()
        buf = self._buffer
        end = buf.find(c.MESSAGE_DELIMITER, self._pos, self._pos + 1024)
        if end < 0:
            if len(buf) - self._pos > 1024:
                raise GNTPProtocolError('binary section header too long')
            return False
        fields = {}
        for line in bytes(buf[self._pos:end]).split(c.LINE_DELIMITER):
            if line.strip():
                name, value = parse_header_line(line)
                fields[name.lower()] = value
        if set(fields) != {'identifier', 'length'}:
            raise GNTPProtocolError('a binary section needs exactly Identifier and Length, '
                                    f'got {sorted(fields)}')
        try:
            length = int(fields['length'])
        except ValueError:
            raise GNTPProtocolError(f'Length is not a number: {fields["length"]!r}') from None
        if not 0 <= length <= self.limits.max_resource_size:
            raise GNTPProtocolError(f'resource of {length} bytes is over the limit of '
                                    f'{self.limits.max_resource_size} bytes')
        self._resource_count += 1
        if self._resource_count > self.limits.max_resource_count:
            raise GNTPProtocolError(f'more than {self.limits.max_resource_count} resources')
        self._current = (fields['identifier'], length)
        self._pos = end + 4
        self._state = _RESOURCE_DATA
        return True

    def _read_resource_data(self) -> Union[bool, ReceivedMessage]:
        assert self._current is not None
        identifier, length = self._current
        buf = self._buffer
        self._check_total()
        if len(buf) - self._pos < length:
            return False
        if not self._discarding:
            # One copy, through a view: slicing the bytearray would copy it twice, and
            # a resource can be max_resource_size bytes.
            with memoryview(buf) as view:
                payload = bytes(view[self._pos:self._pos + length])
            if self._cipher is not None and payload:
                try:
                    payload = self._cipher.decrypt(payload)
                except GNTPEncryptionError as exc:
                    # As for the header block: a key that matched yet fails to decrypt
                    # means tampered data, an authorisation failure (400).
                    raise GNTPAuthenticationError(
                        f'cannot decrypt resource {identifier!r} (wrong key or tampered '
                        f'data): {exc}') from exc
            if identifier in self._wanted_ids and identifier not in self._resources:
                self._resources[identifier] = payload
        self._pos += length
        self._current = None
        if self._discarding:
            self._state = _INFO
            return True
        if self._wanted_ids.issubset(self._resources):
            return self._finish()
        self._state = _RESOURCE_HEADER
        return True

    def _finish(self) -> ReceivedMessage:
        assert self._info is not None
        message = ReceivedMessage(self._info, self._sections, self._resources, self._key,
                                  self._cipher, self._pos - self._request_start)
        self._reset()
        self._discarding = True
        return message


def parse_request(data: bytes, password: Union[None, str, Iterable[str]] = None,
                  require_key: bool = False) -> BaseRequest:
    """Parse one complete request (the inverse of :meth:`MessagePacker.pack`).

    Raises:
        GNTPProtocolError: The bytes are malformed or incomplete.
        GNTPAuthenticationError: The key hash is missing or wrong.
    """
    reader = RequestReader(password, require_key)
    reader.feed(data)
    request = reader.next_request()
    if request is None:
        raise GNTPProtocolError(f'incomplete request ({len(data)} bytes)')
    return request
