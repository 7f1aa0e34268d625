"""Our sync and async clients against growl-for-linux 0.8.5, a real receiver run headless.

Each delivery is checked in what gol recorded: its SQLite database (applications and
notifications) and the resource files it saved, not only from its ``-OK``.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any, Callable, Dict, List

import pytest

import gntplib
from gntplib import Publisher, Resource

from .conftest import StartGol
from .support import FIXED_PORT, ICON, GrowlForLinux, wait_until

CLIENTS = ['sync', 'async']
PASSWORD = 'gol-secret'
TITLE = 'Grüße ✓ 通知'
TEXT = 'first line\nsecond line — ünïcödé ✓'
COUNT = 20

class Client:
    """A sync :class:`~gntplib.Publisher` or an async one, called the same way."""

    def __init__(self, kind: str, **kwargs: Any) -> None:
        self.kind = kind
        kwargs.setdefault('timeout', 5)
        if kind == 'sync':
            self.publisher: Any = Publisher('Interop App', ['update', 'alert'],
                                            port=FIXED_PORT, host='127.0.0.1', **kwargs)
        else:
            async_ = pytest.importorskip('gntplib.async_')
            self.publisher = async_.AsyncPublisher('Interop App', ['update', 'alert'],
                                                   port=FIXED_PORT, host='127.0.0.1', **kwargs)

    def call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.kind == 'sync':
            return method(*args, **kwargs)

        async def run() -> Any:
            return await method(*args, **kwargs)
        return asyncio.run(run())

    def register(self) -> Any:
        return self.call(self.publisher.register)

    def publish(self, *args: Any, **kwargs: Any) -> Any:
        return self.call(self.publisher.publish, *args, **kwargs)

    def publish_many(self, calls: List[Dict[str, Any]]) -> List[Any]:
        """Publish each of ``calls`` (keyword arguments); async ones all at once."""
        if self.kind == 'sync':
            return [self.publisher.publish(**call) for call in calls]

        async def run() -> List[Any]:
            return list(await asyncio.gather(*(self.publisher.publish(**call)
                                               for call in calls)))
        return asyncio.run(run())


def pointer(data: bytes) -> str:
    return 'x-growl-resource://' + hashlib.md5(data).hexdigest()


@pytest.fixture(params=CLIENTS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_register_and_notify_utf8_with_an_application_icon(gol: StartGol, kind: str) -> None:
    receiver = gol()
    client = Client(kind, icon=Resource(ICON))
    assert client.register().action == 'REGISTER'
    assert client.publish('update', TITLE, TEXT, sticky=True, priority=2).action == 'NOTIFY'
    [note] = receiver.wait_for_notifications(1)
    assert (note['title'], note['text'], note['icon'], note['url']) == (TITLE, TEXT, '', '')
    apps = {row['name']: row for row in receiver.applications()}
    assert sorted(apps) == ['alert', 'update']
    assert {row['app_name'] for row in apps.values()} == {'Interop App'}
    assert apps['update']['app_icon'] == pointer(ICON) and apps['update']['enable'] == 1
    assert receiver.saved_resources() == {hashlib.md5(ICON).hexdigest(): ICON}


def test_empty_text_is_accepted(gol: StartGol, kind: str) -> None:
    """gol refuses a NOTIFY without Notification-Text; we always send it (item 2)."""
    receiver = gol()
    client = Client(kind)
    client.register()
    assert client.publish('update', 'No text').action == 'NOTIFY'
    [note] = receiver.wait_for_notifications(1)
    assert (note['title'], note['text']) == ('No text', '')


def icons(count: int) -> List[bytes]:
    # Distinct icons, each with the bytes that end a careless reader's request early.
    return [ICON + b'\r\n\r\n' + bytes([n]) * (n + 1) for n in range(count)]


def test_binary_icons_20_times(gol: StartGol, kind: str) -> None:
    receiver = gol()
    client = Client(kind)
    client.register()
    datas = icons(COUNT)
    responses = client.publish_many([{'name': 'update', 'title': f'icon {n}',
                                      'icon': Resource(data)} for n, data in enumerate(datas)])
    assert [r.action for r in responses] == ['NOTIFY'] * COUNT
    notes = receiver.wait_for_notifications(COUNT)
    by_title = {note['title']: note['icon'] for note in notes}
    saved = receiver.saved_resources()
    arrived = [n for n, data in enumerate(datas)
               if by_title.get(f'icon {n}') == pointer(data)
               and saved.get(hashlib.md5(data).hexdigest()) == data]
    assert len(arrived) == COUNT, f'{len(arrived)}/{COUNT} icons recorded by growl-for-linux'


def test_url_icons_20_times(gol: StartGol, kind: str) -> None:
    receiver = gol()
    client = Client(kind)
    client.register()
    urls = [f'http://127.0.0.1:9/icons/{n}.png?size=32&name=ü' for n in range(COUNT)]
    client.publish_many([{'name': 'alert', 'title': f'url {n}', 'icon': url}
                         for n, url in enumerate(urls)])
    notes = receiver.wait_for_notifications(COUNT)
    assert sorted((note['title'], note['icon']) for note in notes) == \
        sorted((f'url {n}', url) for n, url in enumerate(urls))
    assert receiver.saved_resources() == {}


def test_url_callback_is_recorded(gol: StartGol, kind: str) -> None:
    receiver = gol()
    client = Client(kind)
    client.register()
    client.publish('update', 'Click me', 'opens a page',
                   gntp_callback='https://example.com/callback?id=42&ü=1')
    [note] = receiver.wait_for_notifications(1)
    assert note['url'] == 'https://example.com/callback?id=42&ü=1'


@pytest.mark.parametrize('hashing', ['MD5', 'SHA1', 'SHA256'])
def test_key_hashes_with_a_required_password(gol: StartGol, kind: str, hashing: str) -> None:
    receiver = gol(password=PASSWORD, require_password_for_local_apps='1')
    client = Client(kind, password=PASSWORD, key_hashing=hashing)
    client.register()
    client.publish('update', f'hashed {hashing}', TEXT)
    [note] = receiver.wait_for_notifications(1)
    assert (note['title'], note['text']) == (f'hashed {hashing}', TEXT)


def test_aes_encryption(gol: StartGol, kind: str) -> None:
    receiver = gol(password=PASSWORD, require_password_for_local_apps='1')
    client = Client(kind, password=PASSWORD, key_hashing='SHA256', encryption='AES')
    client.register()
    client.publish('update', TITLE, TEXT, gntp_callback='https://example.com/aes')
    [note] = receiver.wait_for_notifications(1)
    assert (note['title'], note['text'], note['url']) == (TITLE, TEXT, 'https://example.com/aes')
    assert {row['app_name'] for row in receiver.applications()} == {'Interop App'}


# -- gol's error answers ----------------------------------------------------------------

def expect_refusal(client: Client, receiver: GrowlForLinux) -> None:
    with pytest.raises(gntplib.GNTPResponseError) as raised:
        client.register()
    # gol answers b'GNTP/1.0 -ERROR Invalid request\r\nError-Description: Invalid request'
    # here (its reason where the encryption ID belongs, no Error-Code).
    assert raised.value.description == 'Invalid request'
    assert raised.value.error_code is None
    assert receiver.applications() == []


def test_missing_password_is_refused_with_its_reason(gol: StartGol, kind: str) -> None:
    receiver = gol(password=PASSWORD, require_password_for_local_apps='1')
    expect_refusal(Client(kind), receiver)


def test_sha512_is_refused_with_its_reason(gol: StartGol, kind: str) -> None:
    """gol knows MD5, SHA1 and SHA256 only (not supported by the peer)."""
    receiver = gol(password=PASSWORD, require_password_for_local_apps='1')
    expect_refusal(Client(kind, password=PASSWORD, key_hashing='SHA512'), receiver)


def test_a_notify_without_text_is_refused_with_its_reason(gol: StartGol, kind: str) -> None:
    """Only a hand-made request can leave Notification-Text out (``text=None``)."""
    receiver = gol()
    client = Client(kind)
    client.register()
    request = gntplib.NotifyRequest('Interop App', gntplib.Notification('update', 'T', None))
    if kind == 'sync':
        send: Any = gntplib.GNTPClient('127.0.0.1', FIXED_PORT, timeout=5).process_request
    else:
        send = pytest.importorskip('gntplib.async_').AsyncGNTPClient(
            '127.0.0.1', FIXED_PORT, timeout=5).process_request
    with pytest.raises(gntplib.GNTPResponseError) as raised:
        client.call(send, request)
    assert raised.value.description == 'Invalid data'
    # (gol still records it, with the text '(NULL)'.)
    receiver.wait_for_notifications(1)


# -- gol's own bugs: each an xfail with what it does -------------------------------------

@pytest.mark.xfail(strict=True, reason=(
    "growl-for-linux's bug: it never checks the key hash's value, so a wrong password is "
    "accepted (b'GNTP/1.0 -OK NONE\\r\\nResponse-Action: REGISTER\\r\\n\\r\\n')"))
def test_wrong_password_is_refused(gol: StartGol, kind: str) -> None:
    receiver = gol(password=PASSWORD, require_password_for_local_apps='1')
    client = Client(kind, password='not-' + PASSWORD, key_hashing='SHA256')
    with pytest.raises(gntplib.GNTPResponseError):
        client.register()
    assert receiver.applications() == []


@pytest.mark.xfail(strict=True, reason=(
    "growl-for-linux's bug: with a password but no encryption it copies a resource with "
    "strdup() and saves b'ab\\x00\\x00\\x00' for b'ab\\x00cd'"))
def test_binary_icon_with_nul_bytes_and_a_password(gol: StartGol, kind: str) -> None:
    receiver = gol(password=PASSWORD, require_password_for_local_apps='1')
    client = Client(kind, password=PASSWORD, key_hashing='SHA256')
    client.register()
    client.publish('update', 'NUL icon', icon=Resource(b'ab\x00cd'))
    receiver.wait_for_notifications(1)
    assert receiver.saved_resources() == {hashlib.md5(b'ab\x00cd').hexdigest(): b'ab\x00cd'}


@pytest.mark.xfail(strict=True, reason=(
    "growl-for-linux's bug: with encryption it never reads the binary sections, so the "
    'icon is recorded as a pointer but no file is saved'))
def test_binary_icon_with_aes(gol: StartGol, kind: str) -> None:
    receiver = gol(password=PASSWORD, require_password_for_local_apps='1')
    client = Client(kind, password=PASSWORD, key_hashing='SHA256', encryption='AES')
    client.register()
    client.publish('update', 'AES icon', icon=Resource(ICON))
    [note] = receiver.wait_for_notifications(1)
    assert note['icon'] == pointer(ICON)
    assert receiver.saved_resources() == {hashlib.md5(ICON).hexdigest(): ICON}


@pytest.mark.parametrize('encryption', ['DES', '3DES'])
@pytest.mark.xfail(strict=True, reason=(
    "growl-for-linux's bug: it decrypts DES and 3DES with a wrong IV, so the first block "
    "(b'Applicat') is garbled and the application is recorded as '(NULL)'"))
def test_des_encryption(gol: StartGol, kind: str, encryption: str) -> None:
    receiver = gol(password=PASSWORD, require_password_for_local_apps='1')
    client = Client(kind, password=PASSWORD, key_hashing='SHA256', encryption=encryption)
    client.register()
    rows = wait_until(receiver.applications, 5, 'the registration in the gol database')
    assert {row['app_name'] for row in rows} == {'Interop App'}
