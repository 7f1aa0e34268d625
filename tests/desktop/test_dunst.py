"""A real notification daemon: dunst on a private session bus and Xvfb, driven like a
person with ``dunstctl``.

The sender is a real Publisher (sync and async) over TCP to ``GNTPServer`` with
:class:`~gntplib.desktop.DesktopDisplay`; what reached the daemon is read back from
``dunstctl count`` and ``dunstctl history``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import threading
from typing import Any, Callable, Dict, List

import pytest

from gntplib import Resource
from gntplib.async_ import AsyncPublisher

from .processes import Dunst, wait_until

#: A 2x2 PNG; what dunst loads must be these bytes.
ICON = bytes.fromhex(
    '89504e470d0a1a0a0000000d49484452000000020000000208020000'
    '00fdd49a73000000164944415478da63f8cfc0f01f8c0c0c0cff811c00'
    '3a0606019d54b8ae0000000049454e44ae426082')


def act(dunst: Dunst, action: str) -> None:
    """What a person does once the notification is on screen."""
    wait_until(lambda: dunst.count() == 1, 10, 'the notification on screen')
    if action == 'click':
        dunst.ctl('action', '0')
    elif action == 'close':
        dunst.ctl('close')
    # 'expire': do nothing; dunst expires it after expire_timeout.


EXPECTED = {'click': 'click', 'close': 'close', 'expire': 'timeout'}


def handlers(record: Callable[[str], None]) -> Dict[str, Any]:
    return {f'on_{kind}': (lambda kind: lambda response: record(
        f'{kind}:{response.headers["Notification-Callback-Context"]}'))(kind)
        for kind in ('click', 'close', 'timeout')}


@pytest.mark.parametrize('action', ['click', 'close', 'expire'])
def test_sync_publisher_gets_the_right_handler(dunst, receiver, action):
    # The receiver's own timer waits long: an expiry must come from dunst itself.
    gntp = receiver(dunst.bus.address, expire_timeout=1.0, grace=20.0)
    publisher = gntp.publisher('DunstSync', callback_timeout=20)
    ran: List[str] = []
    person = threading.Thread(target=act, args=(dunst, action))
    person.start()
    publisher.publish('ev', f'sync {action}', 'text', context=f'sync-{action}',
                      **handlers(ran.append))
    person.join(10)
    assert ran == [f'{EXPECTED[action]}:sync-{action}']
    wait_until(lambda: dunst.count() == 0, 10, 'an empty screen')


@pytest.mark.parametrize('action', ['click', 'close', 'expire'])
def test_async_publisher_gets_the_right_handler(dunst, receiver, action):
    gntp = receiver(dunst.bus.address, expire_timeout=1.0, grace=20.0)

    async def main() -> List[str]:
        loop = asyncio.get_running_loop()
        ran: List[str] = []
        done: 'asyncio.Future[None]' = loop.create_future()

        def record(what: str) -> None:
            ran.append(what)
            if not done.done():
                done.set_result(None)
        publisher = AsyncPublisher('DunstAsync', ['ev'], port=gntp.port, callback_timeout=20)
        await publisher.register()
        await publisher.publish('ev', f'async {action}', 'text', context=f'async-{action}',
                                **handlers(record))
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            await loop.run_in_executor(pool, act, dunst, action)
        await asyncio.wait_for(done, 10)
        await asyncio.sleep(0)  # a second handler would run now
        return ran
    assert asyncio.run(main()) == [f'{EXPECTED[action]}:async-{action}']


def test_coalescing_keeps_one_notification_on_screen(dunst, receiver):
    gntp = receiver(dunst.bus.address, expire_timeout=30)
    publisher = gntp.publisher('DunstCoalesce')
    publisher.publish('ev', 'Downloading', '10%', coalescing_id='download')
    wait_until(lambda: dunst.count() == 1, 10, 'the first notification')
    publisher.publish('ev', 'Downloading', '90%', coalescing_id='download')
    publisher.publish('ev', 'Other', 'not coalesced', coalescing_id='other')
    wait_until(lambda: gntp.display.notified == 3, 10, 'three Notify calls')
    wait_until(lambda: dunst.count() == 2, 10, 'two notifications on screen')
    dunst.ctl('close-all')
    wait_until(lambda: dunst.count() == 0, 10, 'an empty screen')
    bodies = [entry['body'] for entry in dunst.history()
              if entry['appname'] == 'DunstCoalesce']
    assert sorted(bodies) == ['90%', 'not coalesced']


def test_icons_and_escaped_markup_reach_the_daemon(dunst, receiver):
    gntp = receiver(dunst.bus.address, expire_timeout=30)
    app_icon = ICON + b'\0app'  # other bytes, other file: which icon arrived is visible
    publisher = gntp.publisher('DunstLooks', icon=Resource(app_icon))
    publisher.publish('ev', 'Inline icon', '<b>not bold</b> & <a href="https://x">l</a>',
                      icon=Resource(ICON), priority=2)
    publisher.publish('ev', 'App icon', 'no icon of its own', sticky=True)
    wait_until(lambda: gntp.display.notified == 2, 10, 'two Notify calls')
    wait_until(lambda: dunst.count() == 2, 10, 'two notifications on screen')
    dunst.ctl('close-all')
    wait_until(lambda: dunst.count() == 0, 10, 'an empty screen')
    entries = {entry['summary']: entry for entry in dunst.history()
               if entry['appname'] == 'DunstLooks'}
    inline, fallback = entries['Inline icon'], entries['App icon']
    assert inline['body'] == ('&lt;b&gt;not bold&lt;/b&gt; &amp; '
                              '&lt;a href="https://x"&gt;l&lt;/a&gt;')

    def md5_of(path: str) -> str:
        with open(path, 'rb') as f:
            return hashlib.md5(f.read()).hexdigest()
    assert (inline['timeout'], fallback['timeout']) == (30_000_000, 0)  # us; sticky: never
    assert md5_of(inline['icon_path']) == hashlib.md5(ICON).hexdigest()
    assert md5_of(fallback['icon_path']) == hashlib.md5(app_icon).hexdigest()


def test_a_click_opens_the_url_callback(dunst, receiver):
    opened: List[str] = []
    gntp = receiver(dunst.bus.address, opener=opened.append, expire_timeout=30)
    gntp.publisher('DunstLink').publish('ev', 'Report ready', gntp_callback=(
        'https://ci.example.com/builds/42'))
    act(dunst, 'click')
    wait_until(lambda: opened, 10, 'the URL opened')
    assert opened == ['https://ci.example.com/builds/42']
