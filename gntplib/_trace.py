"""What ``gntplib -v`` shows: each request a client sends and each answer it gets.

Private: the command line (:mod:`gntplib.cli`, :mod:`gntplib.doctor`) uses it through
:func:`tracing_client`, a :class:`~gntplib.connections.GNTPClient` subclass that writes
the exchange to a text stream.

The request is shown as plain text, before encryption, the way ``curl -v`` shows a
request: ``> `` before what was sent, ``< `` before what came back. The key hash, salt and
IV are left out (``SHA256:…``): with the salt, a key hash is enough to guess a weak
password offline, and the password itself never travels. Binary resources are shown by
identifier and size only.
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional, TextIO, Type

from .connections import GNTPClient
from .exceptions import GNTPResponseError
from .packers import SectionPacker
from .requests import BaseRequest, Response

__all__ = ['format_request', 'format_response', 'tracing_client', 'trace_callback']

#: Request text shown per header value at most; longer values are cut, saying how much.
MAX_VALUE_SHOWN = 400


def _cut(line: str) -> str:
    if len(line) <= MAX_VALUE_SHOWN:
        return line
    return f'{line[:MAX_VALUE_SHOWN]}… ({len(line) - MAX_VALUE_SHOWN} more characters)'


def format_request(request: BaseRequest, hashing: Optional[str],
                   encryption: Optional[str]) -> List[str]:
    """The lines showing ``request``: its information line with the secrets left out, its
    headers, and a line per binary resource.

    Args:
        request: The request.
        hashing: The key hash algorithm's name when a password is used, else ``None``.
        encryption: The cipher's name when the request is encrypted, else ``None``.
    """
    security = f'{encryption}:…' if encryption else 'NONE'
    if hashing:
        security += f' {hashing}:…'
    lines = [f'GNTP/1.0 {request.message_type} {security}']
    sections = SectionPacker()
    block = sections.pack(request.header_sections()).decode('utf-8')
    lines += [_cut(line) for line in block.rstrip('\r\n').split('\r\n')]
    for identifier, data in sections.resources:
        lines.append(f'[resource {identifier}: {len(data)} bytes]')
    if encryption:
        lines.append(f'[headers and resources sent encrypted with {encryption}]')
    return lines


def format_response(response: Response) -> List[str]:
    """The lines showing an answer (``-OK``, ``-ERROR`` or ``-CALLBACK``)."""
    lines = [f'GNTP/1.0 {response.message_type} {response.encryption_algorithm_id}']
    lines += [_cut(f'{name}: {value}') for name, value in response.headers.items()]
    return lines


def tracing_client(out: TextIO) -> Type[GNTPClient]:
    """A :class:`~gntplib.connections.GNTPClient` class that writes every exchange to
    ``out``; pass it as ``gntp_client_class`` to a publisher or subscriber."""

    def write(prefix: str, lines: List[str]) -> None:
        out.write(''.join(f'{prefix}{line}\n' for line in lines))
        out.flush()

    class TracingClient(GNTPClient):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            password = kwargs.get('password', args[3] if len(args) > 3 else None)
            self._authenticated = password is not None

        def process_request(self, request: BaseRequest,
                            callback: Optional[Callable[[Response], None]] = None,
                            **kwargs: Any) -> Response:
            factory = self.packer_factory
            hashing = factory.hashing.algorithm_id if self._authenticated else None
            encryption = factory.encryption.algorithm_id if factory.encryption else None
            write('> ', format_request(request, hashing, encryption))

            def on_ok(response: Response) -> None:
                write('< ', format_response(response))
                if callback is not None:
                    callback(response)
            try:
                return super().process_request(request, on_ok, **kwargs)
            except GNTPResponseError as exc:
                if exc.response is not None:
                    write('< ', format_response(exc.response))
                raise

    return TracingClient


def trace_callback(out: TextIO, response: Response) -> None:
    """Show a ``-CALLBACK`` that arrived on the connection."""
    out.write(''.join(f'< {line}\n' for line in format_response(response)))
    out.flush()
