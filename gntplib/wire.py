"""Low-level GNTP framing shared by requests and responses: information lines, header
lines, header maps and the stream buffer. Bytes in, values out; no I/O (§3).
"""

from __future__ import annotations

import dataclasses
from typing import Dict, Iterable, Iterator, List, Mapping, MutableMapping, Optional, Tuple

from .constants import (
    ERROR_NOT_AUTHORIZED, ERROR_UNKNOWN_PROTOCOL,
    ERROR_UNKNOWN_PROTOCOL_VERSION, LINE_DELIMITER, MAX_LINE_SIZE, MAX_MESSAGE_SIZE,
    MESSAGE_DELIMITER, PROTOCOL_VERSION,
)
from .exceptions import GNTPConnectionError, GNTPProtocolError
from .keys import ALGORITHMS as HASH_ALGORITHMS
from .ciphers import ALGORITHMS as CIPHER_ALGORITHMS

__all__ = ['HeaderDict', 'InfoLine', 'Section', 'parse_info_line', 'parse_header_line',
           'parse_header_lines', 'parse_sections',
           'MessageBuffer', 'CRLF_BYTES']

Section = List[Tuple[str, str]]
CRLF_BYTES = b'\r\n'


class HeaderDict(MutableMapping[str, str]):
    """A dict of header values whose keys are matched case-insensitively.

    Iteration yields the names as they were received. Compares equal to a plain ``dict``
    with the same names and values.
    """

    def __init__(self, items: Optional[Iterable[Tuple[str, str]]] = None) -> None:
        # Concrete types first: an ABC isinstance check costs more than the parse itself.
        if items is None or isinstance(items, (list, tuple)):
            pairs: Iterable[Tuple[str, str]] = items or ()
        else:
            pairs = items.items() if isinstance(items, Mapping) else items
        # A loop, not a comprehension: most header maps hold a pair or two, and a
        # comprehension's own frame costs more than that.
        store: Dict[str, Tuple[str, str]] = {}
        for name, value in pairs:
            store[name.lower()] = (name, value)
        self._store = store

    def __getitem__(self, name: str) -> str:
        return self._store[name.lower()][1]

    def __setitem__(self, name: str, value: str) -> None:
        self._store[name.lower()] = (name, value)

    def __delitem__(self, name: str) -> None:
        del self._store[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._store.values())

    def __len__(self) -> int:
        return len(self._store)

    def __repr__(self) -> str:
        return repr(dict(self.items()))


@dataclasses.dataclass
class InfoLine:
    """The parsed information line of a message.

    Attributes:
        message_type: ``REGISTER``, ``NOTIFY``, ``SUBSCRIBE``, ``-OK``, ``-ERROR`` or
            ``-CALLBACK`` (upper case).
        encryption_algorithm_id: ``NONE``, ``AES``, ``DES`` or ``3DES``.
        iv: The IV bytes, or ``None`` for ``NONE``.
        key_hash_algorithm_id: The hash ID, or ``None`` when the message carries no key.
        key_hash: The key hash bytes (or ``None``).
        salt: The salt bytes (or ``None``).
    """

    message_type: str
    encryption_algorithm_id: str = 'NONE'
    iv: Optional[bytes] = None
    key_hash_algorithm_id: Optional[str] = None
    key_hash: Optional[bytes] = dataclasses.field(default=None, repr=False)
    salt: Optional[bytes] = dataclasses.field(default=None, repr=False)


def _hex(value: str, what: str) -> bytes:
    try:
        data = bytes.fromhex(value)
    except ValueError:
        raise GNTPProtocolError(f'{what} is not hex: {value[:40]!r}', ERROR_NOT_AUTHORIZED) \
            from None
    if not data:
        raise GNTPProtocolError(f'{what} is empty', ERROR_NOT_AUTHORIZED)
    return data


def parse_info_line(line: bytes) -> InfoLine:
    """Parse an information line (without its CR LF), tolerating case and extra spaces.

    Raises:
        GNTPProtocolError: with ``error_code`` 301 (not GNTP), 302 (version), 300 (bad
            token or unknown algorithm) or 400 (malformed IV or key token).
    """
    try:
        text = line.decode('ascii')
    except UnicodeDecodeError:
        raise GNTPProtocolError('information line is not ASCII', ERROR_UNKNOWN_PROTOCOL) \
            from None
    tokens = text.split()
    if not tokens or not tokens[0].upper().startswith('GNTP/'):
        raise GNTPProtocolError(f'not a GNTP message: {text[:40]!r}', ERROR_UNKNOWN_PROTOCOL)
    if tokens[0][5:] != PROTOCOL_VERSION:
        raise GNTPProtocolError(f'unsupported GNTP version {tokens[0][5:]!r}',
                                ERROR_UNKNOWN_PROTOCOL_VERSION)
    if len(tokens) not in (3, 4):
        raise GNTPProtocolError(f'malformed information line: {text[:80]!r}')
    info = InfoLine(tokens[1].upper())

    algorithm_id, _, iv_hex = tokens[2].partition(':')
    algorithm_id = algorithm_id.upper()
    if algorithm_id != 'NONE':
        if algorithm_id not in CIPHER_ALGORITHMS:
            raise GNTPProtocolError(f'unsupported encryption algorithm {algorithm_id!r}')
        info.encryption_algorithm_id = algorithm_id
        info.iv = _hex(iv_hex, 'IV')
        if len(info.iv) != CIPHER_ALGORITHMS[algorithm_id].block_size:
            raise GNTPProtocolError(f'{algorithm_id} IV must be '
                                    f'{CIPHER_ALGORITHMS[algorithm_id].block_size} bytes',
                                    ERROR_NOT_AUTHORIZED)
    if len(tokens) == 4:
        hash_id, _, rest = tokens[3].partition(':')
        hash_id = hash_id.upper()
        if hash_id not in HASH_ALGORITHMS:
            raise GNTPProtocolError(f'unsupported key hash algorithm {hash_id!r}')
        key_hash_hex, dot, salt_hex = rest.partition('.')
        if not dot:
            raise GNTPProtocolError('malformed key token (no salt)', ERROR_NOT_AUTHORIZED)
        info.key_hash_algorithm_id = hash_id
        info.key_hash = _hex(key_hash_hex, 'key hash')
        info.salt = _hex(salt_hex, 'salt')
    return info


def parse_header_line(line: bytes) -> Tuple[str, str]:
    """Split ``Name: value`` (a bare colon is accepted; the value is stripped)."""
    name, colon, value = line.partition(b':')
    name = name.strip()
    if not colon or not name:
        raise GNTPProtocolError(f'malformed header line: {line[:80]!r}')
    try:
        return name.decode('ascii'), value.strip().decode('utf-8')
    except UnicodeDecodeError:
        raise GNTPProtocolError(f'header line is not valid UTF-8: {line[:80]!r}') from None


def parse_header_lines(block: bytes) -> Section:
    """Parse every header line of ``block``, skipping blank lines (section breaks)."""
    return [parse_header_line(line) for line in block.split(LINE_DELIMITER)
            if line and not line.isspace()]


def parse_sections(block: bytes) -> List[Section]:
    """Parse a header block (sections separated by blank lines) into sections."""
    sections = (parse_header_lines(chunk) for chunk in block.split(MESSAGE_DELIMITER))
    return [section for section in sections if section]


def _skip_line_breaks(data: bytearray) -> None:
    # lstrip() scans at C speed: a peer flooding CR LF must not cost a Python loop per byte.
    start = len(data) - len(data.lstrip(b'\r\n'))
    if start:
        del data[:start]


class MessageBuffer:
    """Collects bytes from a stream and hands out complete response messages.

    A transport feeds whatever it read; ``b''`` means the peer closed. Bytes past the end of
    one message are kept for the next (a ``-CALLBACK`` may share a read with its ``-OK``),
    and stray CR LFs between messages are skipped. Never touches a socket.

    Args:
        max_size: Largest message accepted, in bytes.

    Raises:
        GNTPProtocolError: (from :meth:`next_message`) when a message grows past
            ``max_size`` or does not start like GNTP.
        GNTPConnectionError: (from :meth:`next_message`) when the peer closed in the middle
            of a message's information line.
    """

    def __init__(self, max_size: int = MAX_MESSAGE_SIZE) -> None:
        self.max_size = max_size
        self._data = bytearray()
        self.closed = False

    def feed(self, data: bytes) -> None:
        """Add bytes read from the peer; ``b''`` marks the end of the stream."""
        if data:
            self._data += data
        else:
            self.closed = True

    def next_message(self) -> Optional[bytes]:
        """Return the next complete message, or ``None`` if more data is needed.

        After the peer closed, a message cut short after its information line is returned
        as it is (Growl 2.x sometimes truncates non-ASCII responses, §6.5); ``None`` then
        means the stream is exhausted.
        """
        data = self._data
        if not data:
            return None
        if data[0] in b'\r\n':
            _skip_line_breaks(data)
        end = data.find(MESSAGE_DELIMITER)
        if end >= 0:
            if end > self.max_size:
                raise GNTPProtocolError(f'message larger than {self.max_size} bytes')
            message = bytes(data[:end + 4])
            del data[:end + 4]
            return message
        if len(data) > self.max_size:
            raise GNTPProtocolError(f'message larger than {self.max_size} bytes')
        if len(data) >= 4 and not data[:4].upper().startswith(b'GNTP'):
            raise GNTPProtocolError(f'not a GNTP message: {bytes(data[:40])!r}')
        last_line_end = data.rfind(LINE_DELIMITER)
        if last_line_end < 0 and len(data) > MAX_LINE_SIZE:
            raise GNTPProtocolError(f'information line longer than {MAX_LINE_SIZE} bytes')
        if self.closed and data:
            if last_line_end < 0:
                raise GNTPConnectionError('connection closed in the middle of a message: '
                                          f'{bytes(data[:40])!r}')
            # Keep whole lines only: a header cut in half would be misread.
            message = bytes(data[:last_line_end]) + MESSAGE_DELIMITER
            data.clear()
            return message
        return None

    @property
    def pending(self) -> int:
        """Number of buffered bytes not yet returned."""
        return len(self._data)
