"""growly 1.3 and node-notifier 10 (its Growl backend), Node clients, against our server.

Neither sends a password or encrypts (not supported by the peer). growly reports only
errors 200, 401 and 402 to its caller (it retries those), and socket callbacks; node-notifier
turns a click callback into a ``click`` event. growly parses one message per read and drops
the rest: the server's pause between ``-OK`` and ``-CALLBACK`` (``callback_delay``) is what
lets its callbacks arrive.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest

from gntplib import NotifyRequest, RegisterRequest, Resource, SocketCallback
from gntplib.server import ServerThread

from .support import ICON, node_job, requests_of, require_node_package, wait_until

TITLE = 'Grüße ✓ 通知'
TEXT = 'first line\nünïcödé — ✓'
CALLBACKS = 10
URL_ICON = 'http://127.0.0.1:9/icon.png'
RunJob = Callable[[Dict[str, Any]], List[Dict[str, Any]]]


@pytest.fixture
def node(require_program: Callable[..., str]) -> str:
    require_node_package(require_program, 'node-notifier')
    return require_node_package(require_program, 'growly')


@pytest.fixture
def icon_file(tmp_path: Path) -> str:
    path = tmp_path / 'icon.png'
    path.write_bytes(ICON)
    return str(path)


def run_with(node: str, server: ServerThread) -> RunJob:
    return lambda job: node_job(node, dict(job, port=server.port))


@pytest.fixture
def server() -> Iterator[ServerThread]:
    with ServerThread() as thread:
        yield thread


def test_growly_register_and_notify(node: str, server: ServerThread, icon_file: str) -> None:
    printed = run_with(node, server)({
        'app': 'Growly App', 'events': [['build', True], ['deploy', False]],
        'app_icon': {'path': icon_file},
        'notify': [
            {'name': 'build', 'title': TITLE, 'text': TEXT, 'sticky': True, 'priority': 2,
             'icon': {'path': icon_file}},
            {'name': 'build', 'title': 'URL icon', 'text': '', 'priority': -1,
             'icon': {'url': 'http://127.0.0.1:9/icon.png'}},
        ]})
    assert printed == [{'register': None}]
    register, *notifies = requests_of(server, 3)
    assert isinstance(register, RegisterRequest)
    # growly sends both at once: they may arrive in either order.
    first, second = sorted(notifies, key=lambda r: r.notification.id_)
    assert isinstance(first, NotifyRequest) and isinstance(second, NotifyRequest)
    assert register.app_name == 'Growly App' and register.app_icon == Resource(ICON)
    assert [(e.name, e.display_name, e.enabled) for e in register.events] == \
        [('build', 'build', True), ('deploy', 'deploy', False)]
    n = first.notification
    assert (n.title, n.text, n.sticky, n.priority, n.icon) == (TITLE, TEXT, True, 2,
                                                               Resource(ICON))
    assert (first.notification.id_, second.notification.id_) == ('1', '2')  # a counter
    n = second.notification
    assert (n.title, n.text, n.sticky, n.priority, n.icon) == \
        ('URL icon', '', False, -1, 'http://127.0.0.1:9/icon.png')
    assert server.errors == []


def test_growly_socket_callbacks(node: str) -> None:
    with ServerThread(callback_result='CLICK') as server:
        printed = run_with(node, server)({
            'app': 'Growly App', 'events': [['build', True]],
            'notify': [{'name': 'build', 'title': f'callback {n}', 'text': 'x',
                        'socket_callback': True} for n in range(CALLBACKS)]})
        requests = requests_of(server, 1 + CALLBACKS)
    assert all(isinstance(r.notification.gntp_callback, SocketCallback) for r in requests[1:])
    actions = [p for p in printed if 'notify' in p]
    assert len(actions) == CALLBACKS, f'{len(actions)}/{CALLBACKS} callbacks reached growly'
    assert {(p['error'], p['action']) for p in actions} == {(None, 'click')}


def test_node_notifier_notify(node: str, server: ServerThread, icon_file: str) -> None:
    printed = run_with(node, server)({
        'library': 'node-notifier', 'app': 'Notifier App',
        'notify': [{'title': TITLE, 'text': TEXT, 'sticky': True, 'icon': {'path': icon_file}},
                   {'title': 'URL icon', 'text': 'x', 'icon': {'url': URL_ICON}}]})
    assert sorted(p['notify'] for p in printed) == [0, 1]
    assert all(p['error'] is None for p in printed)
    # Both notifications may go before the lazy REGISTER is answered (growly retries a 401).
    requests = wait_until(lambda: (lambda got: got if sum(
        isinstance(r, NotifyRequest) for r in got) >= 2 else None)(server.received), 15,
        'both notifications')
    assert {r.app_name for r in requests if isinstance(r, RegisterRequest)} == {'Notifier App'}
    notifies = [r for r in requests if isinstance(r, NotifyRequest)]
    by_title = {r.notification.title: r.notification for r in notifies}
    n = by_title[TITLE]
    assert (n.text, n.sticky, n.icon) == (TEXT, True, Resource(ICON))
    assert by_title['URL icon'].icon == URL_ICON


def test_node_notifier_click_event(node: str) -> None:
    with ServerThread(callback_result='CLICK') as server:
        printed = run_with(node, server)({
            'library': 'node-notifier', 'app': 'Notifier App',
            'notify': [{'title': f'wait {n}', 'text': 'x', 'wait': True}
                       for n in range(CALLBACKS)]})
    clicks = [p for p in printed if p.get('event') == 'click']
    assert len(clicks) == CALLBACKS, f'{len(clicks)}/{CALLBACKS} click events'
