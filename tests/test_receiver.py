"""The receiver core without a socket: requests in, decisions out."""

from __future__ import annotations

from typing import Any, List

import pytest

from gntplib import Event, Notification, SocketCallback
from gntplib.exceptions import (
    GNTPAuthenticationError, GNTPProtocolError, GNTPResourceError, GNTPValidationError,
)
from gntplib.packers import MessagePackerFactory
from gntplib.reader import parse_request
from gntplib.receiver import (
    Decision, Receiver, Rejection, error_response, for_forwarding, rejection_for,
)
from gntplib.requests import NotifyRequest, RegisterRequest, SubscribeRequest

LOCAL = ('127.0.0.1', 5000)
REMOTE = ('192.0.2.7', 5000)


def refusal(decision: Decision) -> Rejection:
    assert decision.rejection is not None, decision
    return decision.rejection


def register(receiver: Receiver, *events: Event) -> None:
    decision = receiver.handle(RegisterRequest('App', None, list(events) or [Event('update')]),
                               LOCAL)
    assert decision.accepted and decision.response.message_type == '-OK'
    receiver.commit(decision)


def notify(name: str = 'update', callback: bool = False, **kwargs: Any) -> NotifyRequest:
    return NotifyRequest('App', Notification(
        name, 'Hi', id_='n-1', gntp_callback=SocketCallback('ctx') if callback else None,
        **kwargs))


def subscribe(receiver: Receiver, password: str = 'hub') -> None:
    packer = MessagePackerFactory(password=password).create()
    data = packer.pack(SubscribeRequest('sub-1', 'Desk', 23054))
    request = parse_request(data, password)
    decision = receiver.handle(request, REMOTE)
    assert decision.accepted and decision.response.headers['Subscription-TTL'] == '60'
    assert receiver.subscribers == {}  # not before commit
    receiver.commit(decision)


def test_notify_codes_follow_the_registry():
    receiver = Receiver()
    assert receiver.handle(notify(), LOCAL).rejection == Rejection(401)
    register(receiver, Event('update'), Event('off', enabled=False))
    assert refusal(receiver.handle(notify('nope'), LOCAL)).code == 402
    refused = receiver.handle(notify('off'), LOCAL)
    assert refusal(refused).code == 404 and not refused.accepted and refused.events == []
    assert refused.response.headers == {'Error-Code': '404',
                                        'Error-Description': 'Notification disabled'}
    ok = receiver.handle(notify(), LOCAL)
    assert ok.response.headers == {'Response-Action': 'NOTIFY', 'Notification-ID': 'n-1'}
    assert ok.callback is None and [e.message_type for e in ok.events] == ['NOTIFY']
    assert 'NOTIFY OK' in repr(ok) and '404' in repr(refused)


def test_a_register_is_kept_only_when_committed():
    receiver = Receiver()
    decision = receiver.handle(RegisterRequest('App', None, [Event('update')]), LOCAL)
    assert receiver.registry.applications == {}
    receiver.commit(decision)
    assert list(receiver.registry.applications) == ['App']
    receiver.commit(receiver.handle(notify('nope'), LOCAL))  # a refusal commits nothing


def test_callbacks_are_decided_once_and_forgotten():
    receiver = Receiver()
    register(receiver)
    decision = receiver.handle(notify(callback=True), LOCAL)
    pending = decision.callback
    assert pending is not None and receiver.find_pending_callback('n-1') is pending
    assert receiver.find_pending_callback(pending.handle) is pending
    decided: List[str] = []
    finished: List[bool] = []
    pending.when_decided(decided.append)
    assert pending.decide('CLICK') and not pending.decide('CLOSE')
    pending.when_decided(decided.append)  # already decided: called at once
    assert decided == ['CLICK', 'CLICK'] and decision.events[0].callback_result == 'CLICK'
    pending.when_finished(finished.append)
    receiver.callback_done(pending, True)
    pending.finish(False)  # ignored: it was finished
    pending.when_finished(finished.append)
    assert finished == [True, True] and receiver.pending_callbacks == {}
    with pytest.raises(GNTPValidationError):
        receiver.find_pending_callback('n-1')

    again = receiver.handle(notify(callback=True), LOCAL)
    receiver.abandon(again)  # e.g. a display failed: the callback goes with it
    assert again.callback is not None and receiver.pending_callbacks == {}
    assert not again.callback.decide('CLICK')


def test_subscribers_get_forwards_and_loops_are_refused():
    receiver = Receiver('hub', subscription_ttl=60, server_id='hub-1')
    subscribe(receiver)
    [subscription] = receiver.subscribers.values()
    assert subscription.forward_password == 'hub' + 'sub-1'
    assert 'hub' not in repr(subscription).replace('hub-1', '')
    decision = receiver.handle(notify(callback=True), LOCAL)
    assert refusal(decision).code == 401 and decision.forwards == []
    register_decision = receiver.handle(RegisterRequest('App', None, [Event('update')]), LOCAL)
    [(target, forwarded)] = register_decision.forwards
    assert target is subscription
    assert forwarded.received_headers[0].startswith('From 127.0.0.1 by ')
    assert ' with gntplib id hub-1; ' in forwarded.received_headers[0]

    looped = RegisterRequest('App', None, [Event('update')])
    looped.received_headers = ['From x by y with gntplib id HUB-1; 2024-01-01 00:00:00Z']
    refused = receiver.handle(looped, LOCAL)
    assert refusal(refused).code == 403 and 'forwarding loop' in refusal(refused).description

    subscription.expires = 0  # its TTL ran out: it is dropped at the next forwarding
    assert receiver.handle(looped.__class__('App', None, [Event('x')]), LOCAL).forwards == []
    assert receiver.subscribers == {}


def test_forwarded_notifications_lose_their_socket_callback():
    request = notify(callback=True)
    forwarded = for_forwarding(request, ['From a by b with gntplib id c; d'])
    assert isinstance(forwarded, NotifyRequest)
    assert forwarded.notification.socket_callback is None
    assert request.notification.socket_callback is not None


def test_key_checks_depend_on_the_peer():
    receiver = Receiver('pw')
    assert not receiver.reader_for(LOCAL).require_key
    assert receiver.reader_for(REMOTE).require_key
    assert Receiver('pw', require_password_from_loopback=True).reader_for(LOCAL).require_key
    assert not Receiver('pw', require_password=False).reader_for(REMOTE).require_key
    with pytest.raises(GNTPValidationError):
        Receiver(['pw', ''])
    assert 'pw' not in repr(receiver) and receiver.password_count == 1


def test_rejections_map_to_one_error_response():
    assert rejection_for(GNTPAuthenticationError('Missing key hash')) == \
        Rejection(400, 'Missing key hash')
    assert rejection_for(GNTPProtocolError('bad', 301)).code == 301
    assert rejection_for(GNTPResourceError('no icon')) == Rejection(300, 'no icon')
    response = error_response(Rejection(500))
    assert (response.message_type, response.headers) == (
        '-ERROR', {'Error-Code': '500', 'Error-Description': 'Internal server error'})
