"""Code written for the original 2012 gntplib 0.5 keeps working, and its renamed names warn."""

from __future__ import annotations

from typing import List

import pytest

import gntplib
from tests.support.peers import ScriptedPeer


@pytest.fixture
def peer():
    with ScriptedPeer() as p:
        yield p


def test_0_5_names_are_importable():
    for name in ('Publisher', 'Subscriber', 'Event', 'Resource', 'RawIcon', 'SocketCallback',
                 'URLCallback', 'Notification', 'Response', 'RegisterRequest', 'NotifyRequest',
                 'SubscribeRequest', 'GNTPClient', 'GNTPConnection', 'BaseGNTPConnection',
                 'BaseApp', 'Notifier', 'notify', 'publish', 'subscribe', 'generate_messages',
                 'coerce_to_events', 'coerce_to_callback', 'GNTPError'):
        assert hasattr(gntplib, name), name


def test_notify_warns_and_publishes(peer):
    with pytest.warns(DeprecationWarning, match=r'notify\(\) is deprecated'):
        response = gntplib.notify('OldApp', 'Alert', 'Title', 'Text', port=peer.port)
    assert response.action == 'NOTIFY'
    assert [m.message_type for m in peer.received] == ['REGISTER', 'NOTIFY']


def test_notifier_and_its_notify_warn_and_work(peer):
    with pytest.warns(DeprecationWarning, match='Notifier is deprecated'):
        notifier = gntplib.Notifier('OldApp', ['alert'], port=peer.port)
    notifier.register()
    with pytest.warns(DeprecationWarning, match=r'Notifier.notify\(\) is deprecated'):
        notifier.notify('alert', 'Title')
    assert peer.received[-1].to_request().notification.title == 'Title'


def test_raw_icon_warns_and_is_a_resource(peer):
    with pytest.warns(DeprecationWarning, match='RawIcon is deprecated'):
        icon = gntplib.RawIcon(b'icon-bytes')
    assert isinstance(icon, gntplib.Resource)
    gntplib.Publisher('App', ['e'], port=peer.port).publish('e', 'T', icon=icon)
    assert list(peer.received[-1].resources.values()) == [b'icon-bytes']


def test_0_5_style_calls(peer):
    """Positional Resource(data), (name, enabled) event tuples, callback= and the 0.5
    request constructors."""
    publisher = gntplib.Publisher('App', ['a', ('b', False)], gntplib.Resource(b'app'),
                                  port=peer.port)
    results: List[gntplib.Response] = []
    publisher.register(results.append)
    publisher.publish('a', 'T', 'x', callback=results.append)
    assert [r.action for r in results] == ['REGISTER', 'NOTIFY']
    request = gntplib.RegisterRequest('App', None, [gntplib.Event('e')])
    assert request.notifications == request.events
    client = gntplib.GNTPClient(port=peer.port)
    assert client.process_request(request).action == 'REGISTER'
