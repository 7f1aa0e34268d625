"""Edge cases with a scripted notification server on a private bus.

The server is real D-Bus (our own service claiming ``org.freedesktop.Notifications``);
the sender is a real :class:`~gntplib.Publisher` over TCP to a real GNTP server whose
display is :class:`~gntplib.desktop.DesktopDisplay`. The script decides what the
"desktop" does: both signals for one notification, no ``actions``, never expiring,
leaving the bus and coming back.
"""

from __future__ import annotations

import concurrent.futures
import logging
import time
from typing import Any, Callable, Dict, List

import pytest

from gntplib import Publisher

from .processes import wait_until



class Sender:
    """A sync Publisher whose socket-callback publishes run in a background thread."""

    def __init__(self, port: int, app: str = 'ScriptedApp') -> None:
        self.publisher = Publisher(app, ['ev'], port=port, timeout=10, callback_timeout=20)
        self.publisher.register()
        self.pool = concurrent.futures.ThreadPoolExecutor(4)
        self.results: List[Any] = []

    def publish_waiting(self, title: str = 'Title', context: str = 'ctx',
                        **options: Any) -> 'concurrent.futures.Future[List[str]]':
        """Publish with on_click/on_close/on_timeout; the future holds what ran."""
        ran: List[str] = []

        def handler(kind: str) -> Callable[[Any], None]:
            return lambda response: ran.append(
                f'{kind}:{response.headers["Notification-Callback-Context"]}')

        def publish() -> List[str]:
            self.publisher.publish('ev', title, 'text', on_click=handler('click'),
                                   on_close=handler('close'), on_timeout=handler('timeout'),
                                   context=context, **options)
            return ran
        return self.pool.submit(publish)

    def close(self) -> None:
        self.pool.shutdown(wait=True)


@pytest.fixture
def sender() -> Any:
    made: List[Sender] = []

    def make(port: int, app: str = 'ScriptedApp') -> Sender:
        made.append(Sender(port, app))
        return made[-1]
    yield make
    for item in made:
        item.close()


@pytest.mark.parametrize('first, second, expected', [
    ('click', 'dismissed', 'click'), ('dismissed', 'click', 'close'),
    ('expired', 'click', 'timeout'), ('click', 'expired', 'click')])
def test_the_first_of_two_signals_wins(private_bus, scripted, receiver, sender, first,
                                       second, expected):
    server = scripted()
    gntp = receiver(private_bus.address)
    waiting = sender(gntp.port).publish_waiting(context='both')
    notification = server.wait_for_notifications()[0]
    assert notification['actions'] == ['default', 'Open']
    make = {'click': lambda i: server.click(i),
            'dismissed': lambda i: server.closed_signal(i, 2),
            'expired': lambda i: server.closed_signal(i, 1)}
    server.signal(make[first](notification['id']), make[second](notification['id']))
    assert waiting.result(10) == [f'{expected}:both']
    assert gntp.thread.wait_for(lambda s: not s.pending_callbacks) is None


def test_no_actions_capability_means_no_action_and_plain_text(private_bus, scripted,
                                                              receiver, sender):
    server = scripted(capabilities=['body'])
    gntp = receiver(private_bus.address, expire_timeout=0.3, grace=0.2)
    started = time.monotonic()
    waiting = sender(gntp.port).publish_waiting(title='<b>no actions</b>', context='plain')
    notification = server.wait_for_notifications()[0]
    assert notification['actions'] == []
    assert notification['body'] == 'text'
    assert notification['summary'] == '<b>no actions</b>'
    # Nobody can click it: the receiver's timer ends it.
    assert waiting.result(10) == ['timeout:plain']
    assert time.monotonic() - started < 5
    wait_until(lambda: server.closed == [notification['id']], 5, 'CloseNotification')


def test_a_server_that_never_expires_is_ended_by_the_receiver_timer(private_bus, scripted,
                                                                   receiver, sender):
    server = scripted()
    gntp = receiver(private_bus.address, expire_timeout=0.4, grace=0.3)
    started = time.monotonic()
    waiting = sender(gntp.port).publish_waiting(context='forever')
    notification = server.wait_for_notifications()[0]
    assert notification['expire_timeout'] == 400
    assert waiting.result(10) == ['timeout:forever']
    elapsed = time.monotonic() - started
    assert 0.6 <= elapsed < 5, elapsed
    wait_until(lambda: server.closed == [notification['id']], 5, 'CloseNotification')
    # A late signal from the desktop changes nothing (the sender has its answer).
    server.signal(server.click(notification['id']))
    assert gntp.fallback.shown == []


def test_sticky_is_resident_and_never_expires(private_bus, scripted, receiver, sender):
    server = scripted()
    gntp = receiver(private_bus.address, expire_timeout=0.2, grace=0.1)
    waiting = sender(gntp.port).publish_waiting(context='sticky', sticky=True, priority=2)
    notification = server.wait_for_notifications()[0]
    assert notification['expire_timeout'] == 0
    assert notification['hints'] == {'urgency': 2, 'resident': True}
    time.sleep(0.6)  # longer than expire_timeout + grace: the timer must not end it
    assert not waiting.done()
    server.signal(server.click(notification['id']))
    assert waiting.result(10) == ['click:sticky']


def test_priorities_become_urgencies(private_bus, scripted, receiver):
    server = scripted()
    gntp = receiver(private_bus.address)
    publisher = gntp.publisher('Urgent')
    for priority in (-2, -1, 0, 1, 2):
        publisher.publish('ev', f'p{priority}', priority=priority)
    notifications = server.wait_for_notifications(5)
    assert [(n['summary'], n['hints']['urgency']) for n in notifications] == [
        ('p-2', 0), ('p-1', 0), ('p0', 1), ('p1', 1), ('p2', 2)]
    assert all(n['app_name'] == 'Urgent' and n['actions'] == [] for n in notifications)


def test_coalescing_replaces_in_place_and_ends_the_replaced_callback(private_bus, scripted,
                                                                    receiver, sender):
    server = scripted()
    gntp = receiver(private_bus.address)
    who = sender(gntp.port)
    first = who.publish_waiting(title='first', context='one', coalescing_id='job')
    server.wait_for_notifications(1)
    second = who.publish_waiting(title='second', context='two', coalescing_id='job')
    notifications = server.wait_for_notifications(2)
    assert notifications[1]['replaces_id'] == notifications[0]['id']
    assert first.result(10) == ['timeout:one']
    server.signal(server.click(notifications[0]['id']))
    assert second.result(10) == ['click:two']


def test_markup_is_escaped_when_the_server_reads_it(private_bus, scripted, receiver):
    server = scripted()
    gntp = receiver(private_bus.address)
    publisher = gntp.publisher('Markup')
    publisher.publish('ev', 'T', '<a href="http://evil">x</a> & <img src="/etc/x">')
    body = server.wait_for_notifications()[0]['body']
    assert body == '&lt;a href="http://evil"&gt;x&lt;/a&gt; &amp; &lt;img src="/etc/x"&gt;'


def test_url_callback_opens_http_urls_only_on_click(private_bus, scripted, receiver):
    server = scripted()
    opened: List[str] = []
    gntp = receiver(private_bus.address, opener=opened.append)
    publisher = gntp.publisher('Links')
    publisher.publish('ev', 'web', gntp_callback='https://example.com/page?x=1')
    publisher.publish('ev', 'file', gntp_callback='file:///etc/passwd')
    web, local = server.wait_for_notifications(2)
    assert web['actions'] == ['default', 'Open'] and local['actions'] == []
    server.signal(server.closed_signal(local['id'], 2), server.click(local['id']),
                  server.click(web['id']))
    wait_until(lambda: opened, 5, 'the URL opened')
    assert opened == ['https://example.com/page?x=1']


def test_the_notification_server_leaves_and_comes_back(private_bus, scripted, receiver,
                                                       sender, caplog):
    caplog.set_level(logging.DEBUG, logger='gntplib.desktop')
    first_server = scripted()
    gntp = receiver(private_bus.address)
    who = sender(gntp.port)
    waiting = who.publish_waiting(context='lost', sticky=True)
    first_server.wait_for_notifications()
    first_server.stop()  # its notifications are gone with it
    assert waiting.result(10) == ['timeout:lost']
    # Meanwhile: the fallback shows them.
    who.publisher.publish('ev', 'while away')
    who.publisher.publish('ev', 'still away')
    wait_until(lambda: len(gntp.fallback.shown) == 2, 5, 'the fallback')
    assert gntp.fallback.shown[0].request.notification.title == 'while away'
    # Back (another daemon, its ids start again at 1): clicks reach the sender again.
    second_server = scripted()
    waiting = who.publish_waiting(context='back')
    notification = second_server.wait_for_notifications()[0]
    second_server.signal(second_server.click(notification['id']))
    assert waiting.result(10) == ['click:back']
    assert gntp.display.notified == 2 and gntp.display.fallen_back == 2
    warnings = [r.getMessage() for r in caplog.records
                if r.name == 'gntplib.desktop' and r.levelno == logging.WARNING]
    assert len([w for w in warnings if 'using the fallback' in w]) == 1, warnings
    assert warnings[-1] == 'the notification server is back'


def test_the_bus_goes_away_and_comes_back(private_bus, scripted, receiver, sender):
    server = scripted()
    gntp = receiver(private_bus.address, retry_interval=0.0)
    who = sender(gntp.port)
    waiting = who.publish_waiting(context='gone', sticky=True)
    server.wait_for_notifications()
    private_bus.stop()
    assert waiting.result(10) == ['timeout:gone']
    who.publisher.publish('ev', 'no bus')
    wait_until(lambda: gntp.fallback.shown, 5, 'the fallback')
    private_bus.start()
    server = scripted()
    waiting = who.publish_waiting(context='new bus')
    notification = server.wait_for_notifications()[0]
    server.signal(server.click(notification['id']))
    assert waiting.result(10) == ['click:new bus']


def test_a_callback_answered_by_the_server_closes_the_notification(private_bus, scripted,
                                                                  receiver, sender):
    server = scripted()
    gntp = receiver(private_bus.address)
    waiting = sender(gntp.port).publish_waiting(context='elsewhere', sticky=True)
    notification = server.wait_for_notifications()[0]
    gntp.thread.wait_for(lambda s: s.pending_callbacks)
    (handle,) = gntp.thread.pending_callbacks
    assert gntp.thread.send_callback(handle, 'CLOSE') is True
    assert waiting.result(10) == ['close:elsewhere']
    wait_until(lambda: server.closed == [notification['id']], 5, 'CloseNotification')


def test_signals_for_other_notifications_are_ignored(private_bus, scripted, receiver,
                                                     sender):
    server = scripted(first_id=100)
    gntp = receiver(private_bus.address)
    waiting = sender(gntp.port).publish_waiting(context='mine')
    notification = server.wait_for_notifications()[0]
    others: List[Any] = [server.click(7), server.closed_signal(8, 2),
                         ('ActionInvoked', 'us', (notification['id'], 'other-action')),
                         ('ActionInvoked', 'ss', ('not an id', 'default')),
                         ('NotificationClosed', 'u', (notification['id'],))]
    server.signal(*others)
    # Closed by another program's CloseNotification: gone, not by the user's click.
    server.signal(server.closed_signal(notification['id'], 3))
    assert waiting.result(10) == ['close:mine']


def test_no_bus_at_all_uses_the_fallback(tmp_path, receiver):
    gntp = receiver(f'unix:path={tmp_path}/no-such-bus')
    publisher = gntp.publisher('NoBus')
    publisher.publish('ev', 'one')
    publisher.publish('ev', 'two')
    wait_until(lambda: len(gntp.fallback.shown) == 2, 5, 'the fallback')
    assert gntp.display.notified == 0


def test_events_are_counted(private_bus, scripted, receiver) -> None:
    server = scripted()
    gntp = receiver(private_bus.address)
    publisher = gntp.publisher('Counted')
    publisher.publish('ev', 'one')
    server.wait_for_notifications()
    wait_until(lambda: gntp.display.notified == 1, 5, 'the count')
    info: Dict[str, Any] = {'calls': server.calls}
    assert info['calls'][:2] == ['GetCapabilities', 'Notify'], info


def test_a_click_read_before_the_answer_to_notify_is_not_lost(private_bus, scripted,
                                                              receiver, sender):
    server = scripted(click_before_answer=True)
    gntp = receiver(private_bus.address)
    waiting = sender(gntp.port).publish_waiting(context='early')
    assert waiting.result(10) == ['click:early']
    assert server.calls == ['GetCapabilities', 'Notify']


def test_a_hung_notification_server_costs_call_timeout_then_the_fallback(
        private_bus, scripted, receiver):
    server = scripted(answer_notify=False)
    gntp = receiver(private_bus.address, call_timeout=0.3)
    publisher = gntp.publisher('Hung')
    started = time.monotonic()
    publisher.publish('ev', 'one')
    publisher.publish('ev', 'two')
    wait_until(lambda: len(gntp.fallback.shown) == 2, 5, 'the fallback')
    assert 0.6 <= time.monotonic() - started < 5
    assert [n['summary'] for n in server.notifications] == ['one', 'two']


def test_shutdown_with_notifications_on_screen_and_queued(private_bus, scripted, receiver,
                                                          sender):
    server = scripted(answer_notify=False)
    gntp = receiver(private_bus.address, call_timeout=5)
    who = sender(gntp.port)
    waiting = [who.publish_waiting(context=f'c{i}', sticky=True) for i in range(3)]
    server.wait_for_notifications(1)
    started = time.monotonic()
    gntp.thread.stop()
    assert time.monotonic() - started < 5
    assert gntp.fallback.closed
    for future in waiting:  # the server closed their connections: no handler ran
        assert future.result(10) == []


def test_an_outage_is_logged_once_and_the_recovery_too(private_bus, scripted, receiver,
                                                       caplog):
    caplog.set_level(logging.DEBUG, logger='gntplib.desktop')
    private_bus.stop()
    gntp = receiver(private_bus.address, retry_interval=0.0)
    publisher = gntp.publisher('Outage')
    publisher.publish('ev', 'one')
    publisher.publish('ev', 'two')
    wait_until(lambda: len(gntp.fallback.shown) == 2, 5, 'the fallback')
    private_bus.start()
    server = scripted()
    publisher.publish('ev', 'three')
    server.wait_for_notifications()
    warnings = [r.getMessage() for r in caplog.records
                if r.name == 'gntplib.desktop' and r.levelno == logging.WARNING]
    assert len([w for w in warnings if 'tried again' in w]) == 1, warnings
    assert warnings[-1] == 'connected to the D-Bus session bus again'


def test_no_session_bus_address_uses_the_fallback(monkeypatch, receiver, caplog):
    monkeypatch.delenv('DBUS_SESSION_BUS_ADDRESS', raising=False)
    gntp = receiver('SESSION')
    gntp.publisher('NoSession').publish('ev', 'one')
    wait_until(lambda: gntp.fallback.shown, 5, 'the fallback')
    assert 'DBUS_SESSION_BUS_ADDRESS is not set' in caplog.text
