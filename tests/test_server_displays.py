"""The display contract and the registry API a receiver page uses, over real sockets."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, List, Optional, Tuple

import pytest

from gntplib import (
    Event, GNTPResponseError, GNTPValidationError, Notification, Publisher, Resource,
    SocketCallback,
)
from gntplib.display import Display, DisplayEvent
from gntplib.models import Event as ModelEvent
from gntplib.registry import ApplicationInfo, NotificationTypeInfo, Registry, Rejection
from gntplib.requests import NotifyRequest, RegisterRequest
from gntplib.server import GNTPServer, ServerThread


class Recorder(Display):
    """Records every call; optionally reports a result from show()."""

    def __init__(self, click: Optional[str] = None) -> None:
        self.click = click
        self.calls: List[Tuple[str, Any]] = []
        self.reports: List[Any] = []
        self.server: Optional[GNTPServer] = None
        self.closed = threading.Event()

    def start(self, server: Any) -> None:
        self.server = server
        self.calls.append(('start', server))

    def show(self, event: DisplayEvent) -> None:
        self.calls.append(('show', event.message_type))
        if self.click and event.has_callback:
            self.reports.append(event.send_callback(self.click))

    def show_callback(self, event: DisplayEvent, result: str) -> None:
        self.calls.append(('show_callback', (result, event.callback_result)))

    def show_error(self, address: Any, code: int, description: str) -> None:
        self.calls.append(('show_error', code))

    async def close(self) -> None:  # an awaitable close is awaited at shutdown
        await asyncio.sleep(0)
        self.closed.set()


def app_publisher(port: int, **kwargs: Any) -> Publisher:
    return Publisher('App', [Event('update'), Event('other', 'Other one')], port=port,
                     timeout=5, **kwargs)


def test_first_report_wins_and_every_display_hears_of_it():
    clicker, closer, watcher = Recorder('CLICK'), Recorder('CLOSE'), Recorder()
    results: List[Optional[str]] = []
    with ServerThread(display=[clicker, closer, watcher]) as thread:
        pub = app_publisher(thread.port)
        pub.register()
        pub.publish('update', 'Hi', gntp_callback=SocketCallback(
            'ctx', on_click=lambda r: results.append(r.callback_result),
            on_close=lambda r: results.append(r.callback_result)))
        thread.wait_for(lambda server: not server.pending_callbacks)
        first, second = clicker.reports[0], closer.reports[0]
        assert thread.call(lambda: (first.result(), second.done() and second.result())) \
            == (True, False)
    assert results == ['CLICK']
    for display in (clicker, closer, watcher):
        assert display.calls[0][0] == 'start' and display.calls[0][1] is not None
        assert [c for c in display.calls if c[0] == 'show_callback'] == \
            [('show_callback', ('CLICK', 'CLICK'))]
        assert display.closed.is_set()
    assert [c[0] for c in watcher.calls].count('start') == 1


def test_the_servers_timeout_is_reported_to_the_displays_and_a_late_click_is_a_no_op():
    watcher = Recorder()
    seen: List[Optional[str]] = []
    with ServerThread(display=watcher, notification_timeout=0.1) as thread:
        pub = app_publisher(thread.port, callback_timeout=5)
        pub.register()
        pub.publish('update', 'fades', gntp_callback=SocketCallback(
            on_timeout=lambda r: seen.append(r.callback_result)))
        thread.wait_for(lambda server: not server.pending_callbacks)
        [event] = [e for e in thread.received if e.message_type == 'NOTIFY']
        # An event for that callback (handle 1), reported after the fact: a no-op.
        late = thread.call(lambda: DisplayEvent(event, ('127.0.0.1', 1), 1, thread.server))
        [future] = thread.call(lambda: [late.send_callback('CLICK')])
        assert future.done() and future.result() is False
    assert seen == ['TIMEDOUT']
    assert ('show_callback', ('TIMEDOUT', 'TIMEDOUT')) in watcher.calls


def test_reporting_on_a_notification_without_a_callback_is_refused():
    event = DisplayEvent(NotifyRequest('App', Notification('update', 'Hi')), ('127.0.0.1', 1))
    assert not event.has_callback and event.callback_result is None
    with pytest.raises(GNTPValidationError):
        event.send_callback('CLICK')


@pytest.mark.gen_test(timeout=10)
async def test_report_callback_checks_the_result_and_ignores_unknown_handles(gntp_server):
    with pytest.raises(GNTPValidationError):
        gntp_server.report_callback(1, 'DOUBLECLICK')
    late = gntp_server.report_callback(999, 'CLICK')
    assert late.done() and late.result() is False


# -- the registry API --------------------------------------------------------------------------

def test_a_disabled_type_is_refused_with_404_and_stays_off_after_registering_again():
    icon = Resource(b'\x89PNG app icon')
    with ServerThread() as thread:
        pub = Publisher('App', [Event('update'), Event('other', 'Other one', icon='http://x/i.png'),
                                Event('off', enabled=False)], icon=icon, port=thread.port,
                        timeout=5)
        pub.register()
        [app] = thread.list_applications()
        assert isinstance(app, ApplicationInfo)
        assert (app.name, app.address.startswith('127.0.0.1:')) == ('App', True)
        assert app.notifications == (
            NotificationTypeInfo('update', None, True, None),
            NotificationTypeInfo('other', 'Other one', True, 'http://x/i.png'),
            NotificationTypeInfo('off', None, False, None))
        stored = thread.application_icon('App')
        assert app.icon == icon and isinstance(stored, Resource) and stored.data == icon.data

        thread.set_notification_enabled('App', 'update', False)
        with pytest.raises(GNTPResponseError) as refused:
            pub.publish('update', 'Hi')
        assert refused.value.error_code == 404
        pub.register()  # the application starts again: the user's choice stays
        assert [n.enabled for n in thread.list_applications()[0].notifications] == \
            [False, True, False]
        thread.set_notification_enabled('App', 'off', True)
        assert pub.publish('off', 'now on').ok
        # The REGISTER kept in `received` is not rewritten by the user's choices.
        register = thread.received[0]
        assert isinstance(register, RegisterRequest)
        assert [e.enabled for e in register.events] == [True, True, False]

        for call in (lambda: thread.set_notification_enabled('Nope', 'update', True),
                     lambda: thread.set_notification_enabled('App', 'nope', True),
                     lambda: thread.application_icon('Nope')):
            with pytest.raises(GNTPValidationError):
                call()


def test_the_registry_decides_without_a_socket():
    registry = Registry()
    assert registry.check_notify('App', 'update') == Rejection(401)
    registry.register(RegisterRequest('b-app', 'http://x/b.png', [ModelEvent('x')]),
                      ('127.0.0.1', 1))
    registry.register(RegisterRequest('App', None, [ModelEvent('update')]), ('::1', 2, 0, 0))
    assert registry.check_notify('App', 'nope') == Rejection(402, 'Notification not registered')
    assert registry.check_notify('App', 'update') is None
    registry.set_notification_enabled('App', 'update', False)
    assert registry.check_notify('App', 'update') == Rejection(404)
    assert [a.name for a in registry.list_applications()] == ['App', 'b-app']
    assert registry.list_applications()[0].address == '[::1]:2'
    assert registry.application_icon('b-app') == 'http://x/b.png'
    assert repr(Rejection(401)) == "Rejection(401, 'Application not registered')"
    assert Rejection(300, 'two\r\nlines').description == 'two lines'
    assert Rejection(401) != 'x' and 'App' in repr(registry)


# -- the console (issue 16 item 11) ------------------------------------------------------------

def test_console_shows_url_icons_one_md5_and_folds_and_cuts_long_text():
    import io
    import json

    from gntplib.display import ConsoleDisplay, JSONLinesDisplay
    text, lines = io.StringIO(), io.StringIO()
    long_text = 'x' * 250 + '\n' + '\n'.join(f'line {i}' for i in range(40))
    icon = Resource(b'inline icon')
    with ServerThread(display=[ConsoleDisplay(text, width=80, max_lines=5),
                               JSONLinesDisplay(lines)]) as thread:
        pub = Publisher('App', [Event('update', icon='http://example.com/e.png')],
                        icon='http://example.com/app.png', port=thread.port, timeout=5)
        pub.register()
        pub.publish('update', 'Long', long_text, icon='http://example.com/n.png')
        pub.publish('update', 'Inline', 'short', icon=icon)
    output = text.getvalue()
    assert '(icon http://example.com/app.png, update icon http://example.com/e.png)' in output
    assert '(icon http://example.com/n.png)' in output
    assert max(len(line) for line in output.splitlines() if line.startswith('    x')) <= 80
    assert '    line 0\n' in output and 'line 1\n' not in output  # 4 folded + 1
    assert '[... cut: 39 more line(s), about' in output
    md5 = str(icon.identifier())
    assert output.count(md5) == 1 and f'resource: 11 bytes, md5 {md5}' in output
    notify = [json.loads(line) for line in lines.getvalue().splitlines()][1]
    assert notify['text'] == long_text and notify['icon'] == 'http://example.com/n.png'
