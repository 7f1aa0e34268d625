"""``gntplib demo``: a walkthrough of the library against the embedded server.

Private: the command line (:mod:`gntplib.cli`) runs it.
"""

from __future__ import annotations

import os
import shlex
import shutil
import struct
import sys
import zlib
from typing import List, TextIO

from . import __version__, ciphers, keys
from .exceptions import GNTPError
from .lib import Publisher
from .models import Resource, SocketCallback
from .requests import Response

__all__ = ['run_demo', 'command_name', 'describe']


def describe(response: Response) -> str:
    """One line for an ``-OK`` answer: ``-OK NOTIFY (Notification-ID: 7)``."""
    extras = [f'{name}: {response.headers[name]}' for name in
              ('Notification-ID', 'Subscription-TTL') if name in response.headers]
    return f'-OK {response.action or ""}' + (f' ({", ".join(extras)})' if extras else '')


def command_name() -> str:
    """How to type the ``gntplib`` command of this installation in a shell here.

    ``gntplib`` when that is on ``PATH`` and is this installation's script; else the path
    of the script beside the interpreter (``.venv/bin/gntplib`` after ``scripts/demo``,
    which does not put ``.venv/bin`` on ``PATH``); else ``python -m gntplib``.
    """
    script = shutil.which('gntplib', path=os.path.dirname(sys.executable))
    on_path = shutil.which('gntplib')
    if script is None:
        return f'{shlex.quote(sys.executable)} -m gntplib'
    if on_path is not None and os.path.samefile(script, on_path):
        return 'gntplib'
    relative = os.path.relpath(script)
    return shlex.quote(script if relative.startswith(os.pardir) else relative)


_DEMO_APP = 'gntplib demo'
_DEMO_PASSWORD = 'demo-secret'


def _demo_icon(size: int = 16) -> bytes:
    """A small blue PNG, built here so the demo needs no files."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack('>I', len(data)) + tag + data
                + struct.pack('>I', zlib.crc32(tag + data) & 0xFFFFFFFF))
    rows = b''.join(b'\x00' + b'\x33\x99\xff' * size for _ in range(size))
    header = struct.pack('>IIBBBBB', size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header)
            + chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b''))


def run_demo(out: TextIO) -> int:
    """Run the walkthrough of ``gntplib demo``, writing the transcript to ``out``."""
    from .display import ConsoleDisplay
    from .exceptions import GNTPAuthenticationError, GNTPEncryptionError
    from .server import ServerThread

    def say(text: str = '') -> None:
        print(text, file=out, flush=True)

    def step(number: int, title: str) -> None:
        say()
        say(f'{number}. {title}')

    def call(text: str) -> None:
        say(f'    >>> {text}')

    def answer(response: Response) -> None:
        say(f'    <- {describe(response)}')

    server_out = ConsoleDisplay(out, prefix='       server | ')
    with ServerThread(password=_DEMO_PASSWORD, display=server_out) as thread:
        port = thread.port
        say(f'gntplib {__version__} demo: GNTP without Growl')
        say(f'An embedded GNTP server (gntplib.server.GNTPServer) is listening on '
            f'127.0.0.1:{port}.')
        say('Each step shows the Python call, what the server received ("server |") and '
            'its answer ("<-").')

        step(1, 'Register an application and its notification types')
        call(f"publisher = Publisher({_DEMO_APP!r}, ['update', 'alert'], port={port})")
        publisher = Publisher(_DEMO_APP, ['update', 'alert'], port=port)
        call('publisher.register()')
        answer(publisher.register())

        step(2, 'Send a notification')
        call("publisher.publish('update', 'Hello from gntplib', 'This went over TCP.', "
             "id_='demo-1')")
        answer(publisher.publish('update', 'Hello from gntplib', 'This went over TCP.',
                                 id_='demo-1'))

        step(3, 'Authenticate with a password (SHA256 key hash)')
        say(f'    The server was started with password={_DEMO_PASSWORD!r}. Requests from this '
            'machine may omit it;')
        say('    a key hash that is sent is always checked.')
        call(f"secure = Publisher({_DEMO_APP!r}, ['update', 'alert'], port={port}, "
             f"password={_DEMO_PASSWORD!r}, key_hashing=keys.SHA256)")
        secure = Publisher(_DEMO_APP, ['update', 'alert'], port=port, password=_DEMO_PASSWORD,
                           key_hashing=keys.SHA256)
        call("secure.publish('alert', 'Signed', 'The server verified the key hash.')")
        answer(secure.publish('alert', 'Signed', 'The server verified the key hash.'))
        call("Publisher(..., password='wrong').publish('alert', 'Forged')")
        try:
            Publisher(_DEMO_APP, ['alert'], port=port, password='wrong').publish('alert', 'Forged')
        except GNTPAuthenticationError as exc:
            say(f'    <- {type(exc).__name__}: {exc}  (as expected)')
        else:
            raise GNTPError('the server accepted a wrong password')

        step(4, 'Encrypt the message (AES-192, needs pycryptodomex)')
        try:
            encrypted = Publisher(_DEMO_APP, ['update', 'alert'], port=port,
                                  password=_DEMO_PASSWORD, key_hashing=keys.SHA256,
                                  encryption=ciphers.AES)
        except GNTPEncryptionError as exc:
            say(f'    skipped: {exc}')
        else:
            call("encrypted = Publisher(..., password=..., key_hashing=keys.SHA256, "
                 "encryption=ciphers.AES)")
            call("encrypted.publish('update', 'Encrypted', 'Headers and icons travel "
                 "encrypted.')")
            answer(encrypted.publish('update', 'Encrypted',
                                     'Headers and icons travel encrypted.'))

        step(5, 'Send an icon (an inline binary resource)')
        icon = _demo_icon()
        call(f'icon = Resource(data=png_bytes)   # a 16x16 PNG of {len(icon)} bytes')
        call("publisher.publish('update', 'With an icon', icon=icon)")
        answer(publisher.publish('update', 'With an icon', icon=Resource(data=icon)))

        step(6, 'Socket callback: the server reports a click on the same connection')
        clicks: List[Response] = []

        def on_ok(response: Response) -> None:
            answer(response)
            say('    The connection stays open. Playing the user, the demo clicks the '
                'notification:')
            call("thread.send_callback('demo-click', 'CLICK')   # gntplib.server.ServerThread")
            thread.send_callback('demo-click', 'CLICK')

        call("publisher.publish('alert', 'Click me', id_='demo-click', callback=on_ok,")
        say("    ...                   gntp_callback=SocketCallback('open-changelog', "
            "'string', on_click=clicks.append))")
        publisher.publish('alert', 'Click me', id_='demo-click', callback=on_ok,
                          gntp_callback=SocketCallback('open-changelog', 'string',
                                                       on_click=clicks.append))
        if not clicks:
            raise GNTPError('no callback arrived')
        say(f'    <- -CALLBACK {clicks[0].callback_result}: on_click ran with context '
            f'{clicks[0].context!r}')

        received, errors = len(thread.received), len(thread.errors)
    say()
    say(f'Done: the server accepted {received} requests and refused {errors} '
        '(the wrong password).')
    command = command_name()
    say('Try it yourself, in two terminals:')
    say(f'    {command} serve')
    say(f'    {command} notify "Hello" "from the shell"')
    return 0
