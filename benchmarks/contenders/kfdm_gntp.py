"""kfdm's ``gntp`` 1.0.3 (PyPI ``gntp``), run from its own virtual environment.

API: ``gntp.notifier.GrowlNotifier(applicationName, notifications, hostname, port,
password)``, ``.register()``, ``.notify(noteType, title, description, icon=...)``; the
key hash is the class attribute ``passwordHash`` (MD5 by default). Icons are given as
bytes (anything not starting with ``http``/``file``). No encryption, no async API.
"""

from __future__ import annotations

from typing import Any, Dict

from _common import (
    APP_NAME, EVENT_NAME, HOST, ICON_SIZE, PASSWORD, TEXT, TITLE, Unsupported, blob, main,
    time_memory, time_pack, time_sync,
)

import gntp
import gntp.notifier
import gntp.version


class PackOnlyNotifier(gntp.notifier.GrowlNotifier):
    """Everything ``notify()`` does before the socket: build, validate, encode."""

    def _send(self, messagetype: str, packet: Any) -> Any:
        packet.validate()
        return packet.encode()


def notifier(scenario: str, port: int, cls: Any = gntp.notifier.GrowlNotifier) -> Any:
    if scenario == 'aes':
        raise Unsupported('kfdm gntp 1.0.3 has no encryption')
    password = PASSWORD if scenario == 'sha256' else None
    growl = cls(applicationName=APP_NAME, notifications=[EVENT_NAME],
                hostname=HOST, port=port, password=password)
    growl.passwordHash = 'SHA256'
    return growl


def check(result: Any) -> None:
    if result is not True:
        raise RuntimeError(f'gntp notify failed: {result!r}')


def make(args: Any) -> Dict[str, Any]:
    info = {'module': gntp.__file__, 'version': gntp.version.__version__}
    if args.scenario == 'async':
        raise Unsupported('kfdm gntp 1.0.3 has no async API')
    if args.scenario == 'pack':
        packer = notifier('plain', 0, PackOnlyNotifier)
        return {**time_pack(lambda: packer.notify(EVENT_NAME, TITLE, TEXT), None), **info}
    growl = notifier(args.scenario, args.port)
    check(growl.register())
    if args.scenario == 'memory':
        return {**time_memory(lambda data: check(growl.notify(EVENT_NAME, TITLE, TEXT,
                                                                 icon=data)), args.size),
                **info}
    icon = blob(ICON_SIZE) if args.scenario == 'icon' else None
    check(growl.notify(EVENT_NAME, TITLE, TEXT, icon=icon))

    def send_one() -> None:
        check(growl.notify(EVENT_NAME, TITLE, TEXT, icon=icon))

    return {**time_sync(send_one, args.count, args.warmup), **info}


if __name__ == '__main__':
    main(make)
