"""Our gntplib, imported from the working tree (the harness puts the repository root first
on PYTHONPATH and runs this with the current interpreter)."""

from __future__ import annotations

from typing import Any, Dict

from _common import (
    APP_NAME, EVENT_NAME, HOST, ICON_SIZE, PASSWORD, TEXT, TITLE, Unsupported, blob, main,
    time_async_publisher, time_memory, time_pack, time_sync,
)

import gntplib
from gntplib import Publisher, Resource, ciphers, keys
from gntplib.connections import GNTPClient
from gntplib.models import Notification
from gntplib.packers import MessagePackerFactory
from gntplib.requests import NotifyRequest


def security(scenario: str) -> Dict[str, Any]:
    if scenario == 'sha256':
        return {'password': PASSWORD, 'key_hashing': keys.SHA256}
    if scenario == 'aes':
        return {'password': PASSWORD, 'key_hashing': keys.SHA256, 'encryption': ciphers.AES}
    return {}


class PackOnlyClient(GNTPClient):
    """Does everything ``process_request`` does before the socket: pack the request."""

    def process_request(self, request: Any, callback: Any = None, **kwargs: Any) -> Any:
        return self.packer_factory.create().pack_parts(request)


def run_async(port: int, count: int, concurrency: int) -> Dict[str, Any]:
    try:
        from gntplib.async_ import AsyncPublisher
    except Exception as exc:  # being written by another developer: report, do not fail
        raise Unsupported(f'gntplib.async_ does not import: {type(exc).__name__}: {exc}')

    try:
        return time_async_publisher(AsyncPublisher, port, count, concurrency, warmup=20)
    except Exception as exc:
        raise Unsupported(f'gntplib.async_ failed: {type(exc).__name__}: {exc}')


def make(args: Any) -> Dict[str, Any]:
    info = {'module': gntplib.__file__, 'version': gntplib.__version__}
    if args.scenario == 'async':
        return {**run_async(args.port, args.count, args.concurrency), **info}
    if args.scenario == 'pack':
        return {**pack(), **info}
    publisher = Publisher(APP_NAME, [EVENT_NAME], host=HOST, port=args.port,
                          **security(args.scenario))
    publisher.register()
    if args.scenario == 'memory':
        def send_blob(data: bytes) -> None:
            publisher.publish(EVENT_NAME, TITLE, TEXT, icon=Resource(data=data))
        return {**time_memory(send_blob, args.size), **info}
    # One icon object for the whole run, as an application loads its icon once.
    icon = Resource(data=blob(ICON_SIZE)) if args.scenario == 'icon' else None

    def send_one() -> None:
        publisher.publish(EVENT_NAME, TITLE, TEXT, icon=icon)

    return {**time_sync(send_one, args.count, args.warmup), **info}


def pack() -> Dict[str, Any]:
    plain = Publisher(APP_NAME, [EVENT_NAME], gntp_client_class=PackOnlyClient)
    aes = Publisher(APP_NAME, [EVENT_NAME], gntp_client_class=PackOnlyClient,
                    **security('aes'))
    request = NotifyRequest(APP_NAME, Notification(EVENT_NAME, TITLE, TEXT))
    plain_factory = MessagePackerFactory()
    aes_factory = MessagePackerFactory(PASSWORD, keys.SHA256, ciphers.AES)
    return time_pack(
        lambda: plain.publish(EVENT_NAME, TITLE, TEXT),
        lambda: aes.publish(EVENT_NAME, TITLE, TEXT),
        {'packer_plain_us': lambda: plain_factory.create().pack(request),
         'packer_aes_us': lambda: aes_factory.create().pack(request)})


if __name__ == '__main__':
    main(make)
