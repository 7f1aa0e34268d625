"""Interop: kfdm's ``gntp`` 1.0.3 client (``gntp.notifier.GrowlNotifier``) against
``gntplib serve``.

What kfdm 1.0.3 can do on Python 3, found out by running it (gntp-protocol.md §11.4):

* Its *client-side* key hashing works: ``set_password`` hashes ``password + salt`` with the
  chosen algorithm (MD5 by default; ``passwordHash`` selects SHA1/SHA256/SHA512) and sends
  upper-case hex with a salt as long as the digest. The Python 3 crash described in §11.4 is
  in its *parser's* password check (``_decode_hex``), which a client never runs. So the
  password tests here are real: the server verifies each hash, and a wrong password gets
  ``-ERROR 400`` back, which kfdm's notifier returns as ``('400', description)``.
* It cannot encrypt, and its callbacks are URL callbacks only (tested).
* Its reader loops for ever if a server closes without answering, so every kfdm call runs in
  a thread with a deadline: a hang fails the test instead of stalling the suite.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

import pytest

from gntplib.server import ServerThread
from tests.conftest import missing_peer

try:
    import gntp.notifier as gntp_notifier
except ImportError:  # pragma: no cover - the `test` extra installs it
    gntp_notifier = None


@pytest.fixture(autouse=True)
def kfdm() -> None:
    """kfdm's gntp is a required peer: a failure on CI when it is missing."""
    if gntp_notifier is None:  # pragma: no cover
        missing_peer("kfdm's gntp 1.0.3", "pip install -e '.[test]'")

PASSWORD = 'kfdm-secret'
ICON = b'\x89PNG\r\n\x1a\n' + b'\x00kfdm icon\r\n\r\nbytes'


def within(function: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Run a kfdm call in a daemon thread; fail if it does not return in time."""
    results: list = []
    errors: list = []

    def run() -> None:
        try:
            results.append(function())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout)
    assert not worker.is_alive(), 'kfdm did not return: no answer from the server?'
    if errors:  # pragma: no cover
        raise errors[0]
    return results[0]


def notifier(port: int, password: Any = None, hashing: str = 'MD5') -> Any:
    growl = gntp_notifier.GrowlNotifier(
        applicationName='kfdm app', notifications=['build', 'deploy'],
        defaultNotifications=['build'], hostname='127.0.0.1', port=port, password=password)
    growl.passwordHash = hashing
    return growl


@pytest.fixture
def served(gntplib_serve):
    """``gntplib serve --json --password ...``, stopped with SIGTERM at the end."""
    server = gntplib_serve('--json', '--password', PASSWORD)
    yield server
    assert server.stop() == 0


def test_register_and_notify_without_a_password(served):
    growl = notifier(served.port)
    assert within(growl.register) is True
    assert within(lambda: growl.notify('build', 'Build passed', 'all green', icon=ICON,
                                       sticky=True, priority=2)) is True
    register, notify = served.json(), served.json()
    assert (register['type'], register['application']) == ('REGISTER', 'kfdm app')
    assert [(e['name'], e['enabled']) for e in register['events']] == \
        [('build', True), ('deploy', False)]
    assert (notify['title'], notify['text'], notify['sticky'], notify['priority']) == \
        ('Build passed', 'all green', True, 2)
    assert notify['key_hash_algorithm'] is None
    assert notify['headers']['Origin-Software-Name'] == 'gntp.py'
    [resource] = notify['resources']
    assert resource['length'] == len(ICON) and resource['md5'] == resource['identifier']


@pytest.mark.parametrize('hashing', ['MD5', 'SHA1', 'SHA256', 'SHA512'])
def test_register_and_notify_with_a_password(served, hashing):
    growl = notifier(served.port, PASSWORD, hashing)
    assert within(growl.register) is True
    assert within(lambda: growl.notify('build', 'Signed', 'text')) is True
    register, notify = served.json(), served.json()
    assert register['key_hash_algorithm'] == notify['key_hash_algorithm'] == hashing
    assert notify['title'] == 'Signed'


def test_utf8_a_url_icon_and_a_url_callback(served):
    growl = notifier(served.port, PASSWORD, 'SHA256')
    assert within(growl.register) is True
    assert within(lambda: growl.notify('build', 'Grüße ✓ 通知', 'ünïcödé\nsecond line',
                                       icon='http://127.0.0.1:9/icon.png', priority=-2,
                                       callback='https://example.com/kfdm')) is True
    served.json()
    notify = served.json()
    assert (notify['title'], notify['text'], notify['priority']) == \
        ('Grüße ✓ 通知', 'ünïcödé\nsecond line', -2)
    assert notify['icon'] == 'http://127.0.0.1:9/icon.png' and notify['resources'] == []
    assert notify['headers']['Notification-Callback-Target'] == 'https://example.com/kfdm'


def test_a_wrong_password_gets_an_error(served):
    growl = notifier(served.port, 'not-the-password', 'SHA256')
    assert within(growl.register) == ('400', 'Invalid key hash')
    error = served.json()
    assert (error['type'], error['code']) == ('ERROR', 400)


def test_unknown_and_disabled_notifications(served):
    growl = notifier(served.port)
    assert within(lambda: growl.notify('build', 'Too early', 'x')) == \
        ('401', 'Application not registered')
    assert within(growl.register) is True
    assert within(lambda: growl.notify('deploy', 'Disabled type', 'x')) == \
        ('404', 'Notification disabled')


def test_mini_and_subscribe(served):
    assert within(lambda: gntp_notifier.mini('one-liner', hostname='127.0.0.1',
                                             port=served.port, password=PASSWORD)) is True
    assert [served.json()['type'], served.json()['text']] == ['REGISTER', 'one-liner']
    growl = notifier(served.port, PASSWORD, 'SHA256')
    assert within(lambda: growl.subscribe('kfdm-sub-1', 'kfdm box', 23099)) is True
    subscribe = served.json()
    assert subscribe['subscriber'] == {'id': 'kfdm-sub-1', 'name': 'kfdm box', 'port': 23099}


def test_a_password_sent_to_a_server_without_one_is_refused():
    # §8.3: a key hash nobody can check is an error, as Growl for Windows answers it.
    with ServerThread() as thread:
        assert within(notifier(thread.port).register) is True
        assert within(notifier(thread.port, 'pw').register) == ('400', 'Invalid key hash')
