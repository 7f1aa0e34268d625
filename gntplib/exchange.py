"""One client request's conversation with a GNTP receiver, without I/O (h11's shape).

A :class:`ClientExchange` is made per request. It says what to write
(:meth:`~ClientExchange.send`), takes whatever the transport read
(:meth:`~ClientExchange.receive_data`, ``b''`` for the end of the stream) and hands out
events (:meth:`~ClientExchange.next_event`): :class:`Ok`, :class:`Callback`, :data:`DONE`
or :data:`NEED_DATA`. It owns every rule of the conversation:

* what to send: small messages in one write; large ones as a few writes that never end at
  a blank line while the message goes on (receivers such as growl-for-linux take a read
  ending in CR LF CR LF for the end of the request), big resources not copied;
* what each answer means: ``-OK`` first, then a ``-CALLBACK`` only when one was asked for;
  any ``-ERROR`` is a :class:`~gntplib.exceptions.GNTPResponseError` carrying the
  receiver's text, however loosely it is framed;
* what the end of the stream, a failed read or a passed deadline means at each point:
  before the answer, an error; while waiting for a callback, the quiet end of the wait;
* which deadline applies (:attr:`~ClientExchange.waiting_for`: the response's, or the
  callback's), and the largest answer accepted;
* what a failed write means (:meth:`~ClientExchange.send_failed`): the receiver's answer,
  when it already sent one, explains the failure better than the write error.

Transports (``gntplib.connections`` for blocking sockets, ``gntplib._async_io`` for
asyncio) only connect, write, read, keep the deadline and describe their I/O errors.
"""

from __future__ import annotations

import logging
from typing import List, Optional, Sequence, Union

from . import constants as c
from .exceptions import GNTPConnectionError, GNTPProtocolError, GNTPResponseError, error_for_code
from .keys import Key
from .requests import Response, parse_response
from .wire import HeaderDict, MessageBuffer

__all__ = ['ClientExchange', 'Ok', 'Callback', 'Done', 'NeedData', 'DONE', 'NEED_DATA',
           'RESPONSE', 'CALLBACK', 'chunks_to_send', 'error_from_response', 'connection_error']

logger = logging.getLogger(__name__)

#: What :attr:`ClientExchange.waiting_for` names: the deadline that applies.
RESPONSE = 'response'
CALLBACK = 'callback'

#: Messages up to this size go out in one write.
JOIN_LIMIT = 256 * 1024
#: Bytes of a large resource written together with what precedes (or follows) it.
EDGE = 64 * 1024
#: Seconds a transport keeps reading after a failed write: a receiver that answered
#: before closing has its answer in our socket already; one that stopped reading will not
#: answer, and the caller should not wait a second full timeout to learn the write failed.
ANSWER_AFTER_FAILED_SEND = 1.0

_BLANK_LINE = c.MESSAGE_DELIMITER
_ENCRYPTION_IDS = (b'NONE', b'AES', b'DES', b'3DES')


class Ok:
    """The receiver's ``-OK``. Attributes: ``response`` (:class:`~gntplib.Response`),
    ``message`` (its bytes)."""

    __slots__ = ('response', 'message')

    def __init__(self, response: Response, message: bytes) -> None:
        self.response = response
        self.message = message


class Callback:
    """The receiver's ``-CALLBACK`` (after ``-OK``, when one was asked for)."""

    __slots__ = ('response', 'message')

    def __init__(self, response: Response, message: bytes) -> None:
        self.response = response
        self.message = message


class Done:
    """The exchange is over: close the connection."""

    def __repr__(self) -> str:
        return 'DONE'


class NeedData:
    """Read more (within the deadline :attr:`ClientExchange.waiting_for` names) and feed it."""

    def __repr__(self) -> str:
        return 'NEED_DATA'


DONE = Done()
NEED_DATA = NeedData()
Event = Union[Ok, Callback, Done, NeedData]
Chunk = Union[bytes, memoryview]


def _cut(data: bytes, at: int) -> int:
    """``at``, or one byte earlier when a write ending there would end at a blank line."""
    return at - 1 if data[at - 4:at] == _BLANK_LINE else at


def chunks_to_send(parts: Sequence[bytes]) -> List[Chunk]:
    """The writes for a message given as parts (``MessagePacker.pack_parts``).

    Up to :data:`JOIN_LIMIT` bytes: one write. Beyond, every resource larger than two
    :data:`EDGE` s is written as its middle (a ``memoryview``: not copied) between two
    joined writes that carry its edges with the small parts around them, so the header
    block always travels with the start of what follows it, and no write but the last
    ends at a blank line.
    """
    if len(parts) == 1:
        return [parts[0]]
    if sum(map(len, parts)) <= JOIN_LIMIT:
        return [b''.join(parts)]
    chunks: List[Chunk] = []
    pending: List[bytes] = []
    for part in parts:
        if len(part) <= 2 * EDGE:
            pending.append(part)
            continue
        head, tail = _cut(part, EDGE), _cut(part, len(part) - EDGE)
        pending.append(part[:head])
        chunks.append(b''.join(pending))
        chunks.append(memoryview(part)[head:tail])
        pending = [part[tail:]]
    chunks.append(b''.join(pending))
    return chunks


def _lenient_error(message: bytes) -> Optional[Response]:
    """An ``-ERROR`` read however it is framed, or ``None`` when ``message`` is not one.

    growl-for-linux writes its reason where the encryption ID belongs
    (``GNTP/1.0 -ERROR Invalid data``) and no ``Error-Code``; lines that are not headers
    are skipped.
    """
    text = message.lstrip(b'\r\n')
    line, _, block = text.partition(c.LINE_DELIMITER)
    tokens = line.split(None, 2)
    if len(tokens) < 2 or tokens[1].upper() != b'-ERROR' or \
            not tokens[0].upper().startswith(b'GNTP/'):
        return None
    headers = HeaderDict()
    for raw in block.split(c.LINE_DELIMITER):
        name, colon, value = raw.partition(b':')
        if colon and name.strip():
            headers[name.strip().decode('ascii', 'replace')] = \
                value.strip().decode('utf-8', 'replace')
    if 'Error-Description' not in headers and len(tokens) == 3 and \
            tokens[2].split()[0].split(b':')[0].upper() not in _ENCRYPTION_IDS:
        headers['Error-Description'] = tokens[2].strip().decode('utf-8', 'replace')
    return Response(c.RESPONSE_ERROR, headers)


def error_from_response(response: Response) -> GNTPResponseError:
    """The error a client raises for an ``-ERROR``: its ``description`` is the receiver's
    text; its ``error_code`` is ``None`` when the receiver sent no (numeric) code."""
    description = response.error_description or 'no description'
    code = response.error_code
    if code is None:
        return GNTPResponseError(description, None, response)
    return error_for_code(code, description, response)


class ClientExchange:
    """One request and its answers, as bytes in and events out.

    Args:
        key: The request's key, to read answers the receiver encrypted.
        expect_callback: Whether the request asked for a socket callback: the exchange then
            goes on after ``-OK`` until a ``-CALLBACK`` or the end of the stream.
        max_response_size: Largest answer accepted, in bytes.
        peer: ``host:port``, named in error messages.

    Example:
        >>> ex = ClientExchange()
        >>> chunks = ex.send([b'GNTP/1.0 REGISTER NONE\\r\\n...\\r\\n\\r\\n'])
        >>> ex.next_event()
        NEED_DATA
        >>> ex.receive_data(b'GNTP/1.0 -OK NONE\\r\\nResponse-Action: REGISTER\\r\\n\\r\\n')
        >>> ex.next_event().response.action
        'REGISTER'
        >>> ex.next_event()
        DONE
    """

    def __init__(self, key: Optional[Key] = None, expect_callback: bool = False,
                 max_response_size: int = c.MAX_MESSAGE_SIZE, peer: str = '') -> None:
        self.key = key
        self.expect_callback = expect_callback
        self.peer = peer
        self.buffer = MessageBuffer(max_response_size)
        #: ``RESPONSE`` or ``CALLBACK`` (the deadline that applies), ``None`` once over.
        self.waiting_for: Optional[str] = RESPONSE
        self._send_error: Optional[GNTPConnectionError] = None

    # -- sending -------------------------------------------------------------------------

    def send(self, message: Union[bytes, Sequence[bytes]]) -> List[Chunk]:
        """The writes that carry ``message`` (bytes, or the parts of one message)."""
        if isinstance(message, (bytes, bytearray, memoryview)):
            return [message]
        return chunks_to_send(message)

    def send_failed(self, reason: str, timed_out: bool = False) -> GNTPConnectionError:
        """A write failed (``reason``, from the transport). Returns the error to raise
        if the receiver has no answer for us; keep reading (for at most
        :data:`ANSWER_AFTER_FAILED_SEND` seconds, :meth:`timeout`): an ``-ERROR`` the
        receiver sent before closing is what the caller then sees."""
        self._send_error = self._error('sending', reason, timed_out)
        return self._send_error

    # -- receiving -----------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Bytes the transport read; ``b''`` when the receiver closed."""
        self.buffer.feed(data)

    def read_failed(self, reason: str, timed_out: bool = False) -> Optional[GNTPConnectionError]:
        """A read failed or its deadline passed. Returns the error to raise, or ``None``
        when that simply ends the exchange (no callback came: §6.2)."""
        waiting_for, self.waiting_for = self.waiting_for, None
        if waiting_for == CALLBACK:
            if self.buffer.pending == 0:
                logger.debug('no socket callback from %s: %s', self.peer,
                             'timed out' if timed_out else reason)
                return None
            return self._error('waiting for the callback', reason, timed_out)
        if self._send_error is not None:
            return self._send_error
        return self._error('reading the response', reason, timed_out)

    def timeout(self, response_timeout: Optional[float],
                callback_timeout: Optional[float]) -> Optional[float]:
        """The deadline (seconds from now) for the wait under way."""
        if self.waiting_for == CALLBACK:
            return callback_timeout
        if self._send_error is not None and response_timeout is not None:
            return min(response_timeout, ANSWER_AFTER_FAILED_SEND)
        return response_timeout

    def next_message(self) -> Union[bytes, NeedData, Done]:
        """The next whole answer's bytes, :data:`NEED_DATA`, or :data:`DONE` when the
        receiver closed where that ends the exchange.

        Raises:
            GNTPConnectionError: The receiver closed before answering, or in the middle of
                an answer (or the write had failed and no answer came).
            GNTPProtocolError: The answer is larger than allowed or not GNTP.
        """
        if self.waiting_for is None:
            return DONE
        try:
            message = self.buffer.next_message()
        except GNTPConnectionError as exc:  # closed in the middle of an answer
            self.waiting_for = None
            raise GNTPConnectionError(self._where(str(exc))) from None
        if message is not None:
            return message
        if not self.buffer.closed:
            return NEED_DATA
        if self.waiting_for == CALLBACK:
            logger.debug('no socket callback from %s: the server closed the connection',
                         self.peer)
            self.waiting_for = None
            return DONE
        self.waiting_for = None
        if self._send_error is not None:
            raise self._send_error
        raise GNTPConnectionError(self._where('the server closed the connection without '
                                              'answering'))

    def handle_message(self, message: bytes) -> Union[Ok, Callback]:
        """Interpret one whole answer: the ``-OK`` first, then the ``-CALLBACK``.

        Raises:
            GNTPResponseError: The receiver answered ``-ERROR`` (400:
                :class:`~gntplib.exceptions.GNTPAuthenticationError`).
            GNTPProtocolError: The answer is not GNTP, or not the one expected here.
        """
        if self.waiting_for == CALLBACK:
            return self.handle_callback(message)
        return self.handle_ok(message)

    def handle_ok(self, message: bytes) -> Ok:
        """Interpret ``message`` as the answer to the request (0.5's ``on_ok_message``)."""
        self.waiting_for = None
        # _parse's steps in place: this runs once per request, and a call is a good part
        # of what it costs.
        try:
            response = parse_response(message, None, self.key)
        except GNTPProtocolError as exc:
            response = self._lenient(message, exc)
        if response.message_type != c.RESPONSE_OK:
            self._refuse(response, c.RESPONSE_OK)
        if self.expect_callback:
            self.waiting_for = CALLBACK
        return Ok(response, message)

    def handle_callback(self, message: bytes) -> Callback:
        """Interpret ``message`` as the ``-CALLBACK`` (0.5's ``on_callback_message``)."""
        self.waiting_for = None
        return Callback(self._parse(message, c.RESPONSE_CALLBACK), message)

    def next_event(self) -> Event:
        """The next event: :class:`Ok`, :class:`Callback`, :data:`DONE` or
        :data:`NEED_DATA`; raises what :meth:`next_message` and :meth:`handle_message`
        raise."""
        message = self.next_message()
        if isinstance(message, bytes):
            return self.handle_message(message)
        return message

    # -- helpers -------------------------------------------------------------------------

    def _parse(self, message: bytes, expected: str) -> Response:
        try:
            response = parse_response(message, None, self.key)
        except GNTPProtocolError as exc:
            response = self._lenient(message, exc)
        if response.message_type != expected:
            self._refuse(response, expected)
        return response

    @staticmethod
    def _lenient(message: bytes, error: GNTPProtocolError) -> Response:
        lenient = _lenient_error(message)
        if lenient is None:
            raise error
        return lenient

    @staticmethod
    def _refuse(response: Response, expected: str) -> None:
        if response.message_type == c.RESPONSE_ERROR:
            raise error_from_response(response)
        raise GNTPProtocolError(f'expected {expected} but the server sent '
                                f'{response.message_type}', response=response)

    def _where(self, text: str) -> str:
        return f'{self.peer}: {text}' if self.peer else text

    def _error(self, doing: str, reason: str, timed_out: bool) -> GNTPConnectionError:
        return connection_error(self.peer, doing, reason, timed_out)


def connection_error(peer: str, doing: str, reason: str,
                     timed_out: bool = False) -> GNTPConnectionError:
    """The error a client raises when ``doing`` (connecting, sending...) failed."""
    where = f'{peer}: ' if peer else ''
    if timed_out:
        return GNTPConnectionError(f'{where}timed out {doing}')
    return GNTPConnectionError(f'{where}{doing} failed: {reason}')
