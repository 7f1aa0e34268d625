"""``gntplib`` 3.0.10 from PyPI (cumulus13's package, unrelated to ours despite the
import name), run from its own virtual environment.

API (read from its source): ``gntplib.Publisher(name, event_defs, host=, port=,
password=, key_hashing=keys.SHA256, encryption=ciphers.AES)``, ``.register()``,
``.publish(name, title, text, icon=Resource(data))``; both return ``None`` and raise on
errors, the response goes to an optional ``callback``. AES needs pycryptodome(x), which
the harness installs next to it. Its async classes (``gntplib.async_gntp``) are built
for Tornado < 6 (``IOStream(io_loop=...)``, callback arguments), tried anyway.
"""

from __future__ import annotations

from typing import Any, Dict

from _common import (
    APP_NAME, EVENT_NAME, HOST, ICON_SIZE, PASSWORD, TEXT, TITLE, Unsupported, blob, main,
    time_async_publisher, time_memory, time_pack, time_sync,
)

import gntplib
from gntplib import Publisher, Resource, ciphers, keys
from gntplib.connections import GNTPClient


def security(scenario: str) -> Dict[str, Any]:
    if scenario == 'sha256':
        return {'password': PASSWORD, 'key_hashing': keys.SHA256}
    if scenario == 'aes':
        if ciphers.AES is None:
            raise Unsupported('gntplib 3.0.10 found no pycryptodome(x): no AES')
        return {'password': PASSWORD, 'key_hashing': keys.SHA256, 'encryption': ciphers.AES}
    return {}


class PackOnlyClient(GNTPClient):
    """Everything ``process_request`` does before the socket: pack the request."""

    def process_request(self, request: Any, callback: Any = None, **kwargs: Any) -> Any:
        return self.packer_factory.create().pack(request)


def run_async(port: int, count: int, concurrency: int) -> Dict[str, Any]:
    try:
        from gntplib.async_gntp import AsyncPublisher
    except Exception as exc:
        raise Unsupported(f'async import failed: {type(exc).__name__}: {exc}')

    try:
        return time_async_publisher(AsyncPublisher, port, count, concurrency)
    except Exception as exc:
        raise Unsupported(f'async API fails: {type(exc).__name__}: {exc}')


def make(args: Any) -> Dict[str, Any]:
    info = {'module': gntplib.__file__, 'version': gntplib.__version__}
    if args.scenario == 'async':
        return {**run_async(args.port, args.count, args.concurrency), **info}
    if args.scenario == 'pack':
        plain = Publisher(APP_NAME, [EVENT_NAME], gntp_client_class=PackOnlyClient)
        aes = None
        if ciphers.AES is not None:
            aes = Publisher(APP_NAME, [EVENT_NAME], gntp_client_class=PackOnlyClient,
                            **security('aes'))
        return {**time_pack(lambda: plain.publish(EVENT_NAME, TITLE, TEXT),
                            aes and (lambda: aes.publish(EVENT_NAME, TITLE, TEXT))), **info}
    publisher = Publisher(APP_NAME, [EVENT_NAME], host=HOST, port=args.port,
                          **security(args.scenario))
    publisher.register()
    if args.scenario == 'memory':
        def send_blob(data: bytes) -> None:
            publisher.publish(EVENT_NAME, TITLE, TEXT, icon=Resource(data))
        return {**time_memory(send_blob, args.size), **info}
    # One icon object for the whole run, as an application loads its icon once.
    icon = Resource(blob(ICON_SIZE)) if args.scenario == 'icon' else None

    def send_one() -> None:
        publisher.publish(EVENT_NAME, TITLE, TEXT, icon=icon)

    return {**time_sync(send_one, args.count, args.warmup), **info}


if __name__ == '__main__':
    main(make)
