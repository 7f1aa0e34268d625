"""gntplib.async_ end to end: AsyncPublisher/AsyncSubscriber against real GNTP peers on
127.0.0.1 (tests/async_peers.py, built on RequestReader and pack_response)."""

from __future__ import annotations

import asyncio
import gc
import importlib
import importlib.util
import json
import logging
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

from typing import List

import pytest
from tornado import gen
from tornado.ioloop import IOLoop

from tests.support.async_peers import GNTPPeer, closed_port
from gntplib import (
    Event, GNTPConnectionError, GNTPValidationError, NotifyRequest, RegisterRequest, Resource,
    SubscribeRequest,
)
from gntplib import _async_io
from gntplib.async_ import (
    AsyncGNTPClient, AsyncGNTPConnection, AsyncIcon, AsyncNotifier, AsyncPublisher,
    AsyncResource, AsyncSubscriber, collect_async_resources, fetch_async_resources_in_parallel,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def make_peer(io_loop):
    peers = []

    def make(**options):
        peer = GNTPPeer(**options)
        peers.append(peer)
        return peer

    yield make
    for peer in peers:
        peer.shutdown()


@pytest.fixture
def peer(make_peer):
    return make_peer()


def publisher_for(peer_or_port, **kwargs):
    port = peer_or_port if isinstance(peer_or_port, int) else peer_or_port.port
    return AsyncPublisher('App', ['update', ('off', False)], host='127.0.0.1', port=port,
                          **kwargs)


async def drain_background_work():
    """Wait for the library's background tasks (the wait for a -CALLBACK) to finish."""
    while _async_io._background_tasks:
        await asyncio.gather(*list(_async_io._background_tasks), return_exceptions=True)


# -- success paths -----------------------------------------------------------------------

@pytest.mark.gen_test
async def test_register_and_publish_await_ok_responses(peer):
    publisher = publisher_for(peer)
    registered = await publisher.register()
    published = await publisher.publish('update', 'New version', '2.0 is out', id_='n-1',
                                        sticky=True, priority=1)

    assert (registered.message_type, registered.action) == ('-OK', 'REGISTER')
    assert (published.message_type, published.action) == ('-OK', 'NOTIFY')
    assert published.notification_id == 'n-1'
    register, notify = peer.received
    assert isinstance(register, RegisterRequest)
    assert [(e.name, e.enabled) for e in register.events] == [('update', True), ('off', False)]
    assert isinstance(notify, NotifyRequest)
    n = notify.notification
    assert (n.title, n.text, n.id_, n.sticky, n.priority) == \
        ('New version', '2.0 is out', 'n-1', True, 1)


@pytest.mark.gen_test
async def test_calls_return_pending_futures_without_blocking(peer):
    publisher = publisher_for(peer)
    future = publisher.register()
    assert isinstance(future, asyncio.Future)
    assert not future.done()  # nothing happened yet: the I/O runs on the loop
    assert peer.received == []
    assert (await future).ok


@pytest.mark.gen_test
async def test_inline_resources_are_sent_embedded(peer):
    icon = Resource(data=b'\x89PNG app icon')
    event_icon = Resource(data=b'\x89PNG event icon')
    publisher = AsyncPublisher('App', [Event('update', icon=event_icon)], icon=icon,
                               host='127.0.0.1', port=peer.port)
    await publisher.register()
    register = peer.received[0]
    assert register.app_icon == icon
    assert register.events[0].icon == event_icon
    assert register.received.resources[icon.identifier()] == icon.data


@pytest.mark.gen_test
async def test_encrypted_exchange(make_peer):
    pytest.importorskip('Cryptodome')
    from gntplib.ciphers import AES
    from gntplib.keys import SHA256
    peer = make_peer(password='s3cret', encrypt_responses=True)
    publisher = publisher_for(peer, password='s3cret', key_hashing=SHA256, encryption=AES)
    await publisher.register()
    response = await publisher.publish('update', 'Secret', 'for your eyes only')
    assert response.ok and response.encryption_algorithm_id == 'AES'
    assert peer.received[-1].received.encryption_algorithm_id == 'AES'
    assert peer.received[-1].notification.text == 'for your eyes only'


@pytest.mark.gen_test
async def test_subscribe_stores_ttl_before_the_awaiter_resumes(make_peer):
    peer = make_peer(password='hub-pw', ttl=123)
    subscriber = AsyncSubscriber('sub-1', 'Me', ('127.0.0.1', peer.port), 'hub-pw',
                                 port=23099)
    response = await subscriber.subscribe()
    assert response.subscription_ttl == 123
    assert subscriber.ttl == 123
    request = peer.received[0]
    assert isinstance(request, SubscribeRequest)
    assert (request.id_, request.name, request.port) == ('sub-1', 'Me', 23099)


@pytest.mark.gen_test
async def test_subscribe_legacy_callback_sees_stored_ttl(make_peer):
    peer = make_peer(password='hub-pw', ttl=77)
    subscriber = AsyncSubscriber('sub-1', 'Me', ('127.0.0.1', peer.port), 'hub-pw')
    seen = []
    await subscriber.subscribe(callback=lambda r: seen.append((r.subscription_ttl,
                                                               subscriber.ttl)))
    assert seen == [(77, 77)]


@pytest.mark.gen_test
async def test_legacy_callback_gets_the_awaited_response(peer):
    publisher = publisher_for(peer)
    got: List[object] = []
    response = await publisher.register(callback=got.append)
    assert got == [response]  # already called when the awaiter resumes


@pytest.mark.gen_test
async def test_an_awaited_failure_is_raised_not_logged(caplog):
    """A failure is reported once: to the awaiter, also with a legacy callback and for
    AsyncSubscriber (whose subscribe() passes a callback of its own)."""
    port = closed_port()
    got: List[object] = []
    with caplog.at_level(logging.DEBUG, logger='gntplib'):
        with pytest.raises(GNTPConnectionError):
            await publisher_for(port).publish('update', 'Hi', callback=got.append)
        with pytest.raises(GNTPConnectionError):
            await AsyncSubscriber('sub-1', 'Me', ('127.0.0.1', port), 'pw').subscribe()
        gc.collect()
    assert got == []
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_a_failure_nobody_awaits_is_logged_once_at_warning(io_loop, caplog):
    """Publishing without awaiting (a Tornado handler's fire and forget, a legacy
    callback=): the failure is logged once at WARNING, not "Task exception was never
    retrieved"; nothing else is logged."""
    port = closed_port()
    got: List[object] = []
    loop_errors: List[object] = []
    asyncio_loop = _async_io.asyncio_loop_of(io_loop)
    asyncio_loop.set_exception_handler(lambda loop, context: loop_errors.append(context))

    async def fire_and_forget() -> None:
        publisher_for(port).publish('update', 'Hi')
        publisher_for(port).register(callback=got.append)
        while _async_io._background_tasks:  # asyncio.wait retrieves no exception
            await asyncio.wait(list(_async_io._background_tasks))
        gc.collect()

    try:
        with caplog.at_level(logging.DEBUG):
            io_loop.run_sync(fire_and_forget, timeout=10)
    finally:
        asyncio_loop.set_exception_handler(None)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.levelno for r in warnings] == [logging.WARNING] * 2, warnings
    assert all('nobody awaited' in r.getMessage() and 'connecting' in r.getMessage()
               for r in warnings)
    assert got == [] and loop_errors == []


@pytest.mark.gen_test
async def test_raising_legacy_callback_is_logged_and_the_future_still_succeeds(peer, caplog):
    def broken(response):
        raise KeyError('oops')

    with caplog.at_level(logging.ERROR, logger='gntplib'):
        response = await publisher_for(peer).register(callback=broken)
    assert response.ok
    assert any('callback' in r.getMessage() and r.exc_info and
               isinstance(r.exc_info[1], KeyError) for r in caplog.records)


def test_0_5_style_call_before_the_loop_runs(peer, io_loop):
    """A call made before the IOLoop starts is scheduled on the loop current at call time."""
    publisher = publisher_for(peer)
    got: List[object] = []
    future = publisher.register(callback=got.append)
    response = io_loop.run_sync(lambda: future, timeout=5)
    assert response.ok and got == [response]
    published = io_loop.run_sync(lambda: publisher.publish('update', 'Hi'), timeout=5)
    assert published.action == 'NOTIFY'


@pytest.mark.gen_test
async def test_usable_from_a_tornado_gen_coroutine(peer):
    publisher = publisher_for(peer)

    @gen.coroutine
    def legacy_coroutine():
        yield publisher.register()
        response = yield publisher.publish('update', 'From gen.coroutine')
        return response

    response = await legacy_coroutine()
    assert response.ok
    assert peer.received[-1].notification.title == 'From gen.coroutine'


# -- errors: the async twins of the sync error cases --------------------------------------


@pytest.mark.gen_test
async def test_invalid_arguments_raise_before_any_io(peer):
    publisher = publisher_for(peer)
    with pytest.raises(GNTPValidationError):
        publisher.publish('update', '')
    with pytest.raises(GNTPValidationError):
        AsyncPublisher('App', [])
    assert peer.connections == 0


# -- concurrency ---------------------------------------------------------------------------

@pytest.mark.gen_test(timeout=10)
async def test_200_concurrent_publishes_overlap(make_peer):
    peer = make_peer(delay=0.1)  # each answer takes 100 ms
    publisher = publisher_for(peer)
    started = time.monotonic()
    responses = await asyncio.gather(*(publisher.publish('update', f'n{i}', id_=f'id-{i}')
                                       for i in range(200)))
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, f'200 publishes took {elapsed:.2f}s: not concurrent'
    assert [r.notification_id for r in responses] == [f'id-{i}' for i in range(200)]
    assert sorted(r.notification.title for r in peer.received) == \
        sorted(f'n{i}' for i in range(200))


# -- socket callbacks ----------------------------------------------------------------------

@pytest.mark.gen_test
async def test_future_resolves_at_ok_and_click_arrives_later(make_peer):
    gate = asyncio.Event()
    peer = make_peer(callback_result='CLICKED', callback_gate=gate)
    clicked = asyncio.get_running_loop().create_future()
    response = await publisher_for(peer).publish(
        'update', 'Click me', id_='n-9', context='ctx-1', context_type='string',
        on_click=clicked.set_result)
    assert response.ok
    assert not clicked.done()  # the -CALLBACK has not been sent yet
    gate.set()
    callback = await asyncio.wait_for(clicked, 2)
    assert callback.message_type == '-CALLBACK'
    assert callback.callback_event == 'click'
    assert (callback.context, callback.notification_id) == ('ctx-1', 'n-9')


@pytest.mark.gen_test
async def test_failing_handler_is_logged_not_raised(make_peer, caplog):
    peer = make_peer(callback_result='CLICKED')

    def explode(response):
        raise RuntimeError('handler bug')

    with caplog.at_level(logging.ERROR, logger='gntplib'):
        response = await publisher_for(peer).publish('update', 'Hi', on_click=explode)
        await drain_background_work()
    assert response.ok
    assert any('socket callback failed' in r.getMessage() and 'handler bug' in r.getMessage()
               for r in caplog.records)


@pytest.mark.gen_test
async def test_connection_used_directly(peer):
    """AsyncGNTPConnection runs BaseGNTPConnection's exchange over an IOStream."""
    from gntplib.packers import MessagePacker
    responses: List[object] = []
    connection = AsyncGNTPConnection(('127.0.0.1', peer.port), 2.0, responses.append)
    assert connection.closed
    await connection.connect()
    assert not connection.closed
    await connection.write_message(MessagePacker().pack(
        RegisterRequest('App', None, [Event('update')])))
    await connection.read_message(connection.on_ok_message)
    assert [r.action for r in responses] == ['REGISTER']
    assert connection.closed  # no socket callback: closed after -OK
    with pytest.raises(GNTPConnectionError, match='closed'):
        await connection.write_message(b'more')


# -- legacy names and behaviour ------------------------------------------------------------

@pytest.mark.gen_test
async def test_io_loop_argument_is_ignored_with_deprecation_warning(peer):
    with pytest.warns(DeprecationWarning, match='io_loop'):
        publisher = AsyncPublisher('App', ['update'], None, IOLoop.current(),
                                   host='127.0.0.1', port=peer.port)
    with pytest.warns(DeprecationWarning, match='io_loop'):
        subscriber = AsyncSubscriber('id', 'Me', ('127.0.0.1', peer.port), 'pw',
                                     io_loop=IOLoop.current())
    with pytest.warns(DeprecationWarning, match='io_loop'):
        AsyncGNTPClient(io_loop=IOLoop.current())
    with pytest.warns(DeprecationWarning, match='io_loop'):
        AsyncGNTPConnection(('127.0.0.1', peer.port), 1.0, io_loop=IOLoop.current())
    assert (await publisher.register()).ok
    assert isinstance(subscriber.gntp_client, AsyncGNTPClient)


@pytest.mark.gen_test
async def test_async_notifier_and_async_icon_warn_and_work(peer):
    with pytest.warns(DeprecationWarning, match='AsyncNotifier'):
        notifier = AsyncNotifier('App', ['update'], host='127.0.0.1', port=peer.port)
    with pytest.warns(DeprecationWarning, match='AsyncIcon'):
        icon = AsyncIcon('http://127.0.0.1:1/icon.png')
    assert isinstance(icon, AsyncResource) and icon.url == 'http://127.0.0.1:1/icon.png'
    await notifier.register()
    with pytest.warns(DeprecationWarning, match='notify'):
        future = notifier.notify('update', 'Old API')
    assert (await future).action == 'NOTIFY'


def test_legacy_module_name_exposes_the_same_objects():
    legacy = importlib.import_module('gntplib.async')
    import gntplib.async_ as modern
    for name in modern.__all__:
        assert getattr(legacy, name) is getattr(modern, name), name
    assert legacy.collect_async_resources is collect_async_resources
    assert legacy.fetch_async_resources_in_parallel is fetch_async_resources_in_parallel


def test_import_gntplib_does_not_import_tornado():
    code = ('import sys, gntplib; '
            'bad = sorted(m for m in sys.modules if m.split(".")[0] == "tornado"); '
            'print(bad); sys.exit(1 if bad else 0)')
    result = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr


def test_repr_never_shows_the_password():
    publisher = AsyncPublisher('App', ['update'], password='hunter2-secret')
    assert 'hunter2-secret' not in repr(publisher)
    assert 'hunter2-secret' not in repr(publisher.gntp_client)


# -- the example Tornado web application ---------------------------------------------------

def load_example():
    spec = importlib.util.spec_from_file_location('tornado_app_example',
                                                  ROOT / 'examples' / 'tornado_app.py')
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def example_peer(make_peer):
    return make_peer()


@pytest.fixture
def app(example_peer):
    example = load_example()
    return example.make_app(example.make_publisher(port=example_peer.port))


@pytest.mark.gen_test
async def test_example_web_handler_awaits_publish(app, example_peer, http_client, http_port):
    await app.settings['publisher'].register()
    response = await http_client.fetch(
        f'http://127.0.0.1:{http_port}/notify', method='POST',
        body=urlencode({'title': 'Deployed', 'text': 'v2.0 is live'}))
    assert response.code == 200
    assert json.loads(response.body) == {'ok': True, 'action': 'NOTIFY'}
    notify = example_peer.received[-1]
    assert (notify.app_name, notify.notification.name, notify.notification.title,
            notify.notification.text) == ('Deploy bot', 'deploy', 'Deployed', 'v2.0 is live')


@pytest.mark.gen_test
async def test_example_web_handler_turns_gntp_errors_into_502(app, http_client, http_port):
    example = load_example()
    app.settings['publisher'] = example.make_publisher(port=closed_port())
    response = await http_client.fetch(f'http://127.0.0.1:{http_port}/notify',
                                       method='POST', body=urlencode({'title': 'x'}),
                                       raise_error=False)
    assert response.code == 502
    body = json.loads(response.body)
    assert body['ok'] is False and 'connecting failed' in body['error']


# -- against the embedded GNTPServer (tests/conftest.py) -----------------------------------

@pytest.mark.gntp_server(callback_result='CLICKED')
@pytest.mark.gen_test
async def test_publish_and_click_against_the_embedded_server(gntp_server):
    publisher = AsyncPublisher('App', ['update'], host='127.0.0.1', port=gntp_server.port)
    clicked = asyncio.get_running_loop().create_future()
    assert (await publisher.register()).ok
    response = await publisher.publish('update', 'Hi', context='ctx-e2e',
                                       on_click=clicked.set_result)
    assert response.action == 'NOTIFY'
    assert (await asyncio.wait_for(clicked, 2)).context == 'ctx-e2e'
    assert gntp_server.received[-1].notification.title == 'Hi'


def test_an_app_started_while_the_receiver_is_down_starts_and_registers_later(io_loop, caplog):
    """Issue 16: the app's register() at start-up, not awaited, fails while the receiver is
    down and logs one WARNING; its first publish once the receiver is up is answered 401
    and registers (auto_register)."""
    from gntplib.server import ServerThread
    port = closed_port()
    publisher = AsyncPublisher('App', ['update'], host='127.0.0.1', port=port)

    async def start_up() -> None:
        publisher.register()  # fire and forget, as an app's start-up code does
        while _async_io._background_tasks:
            await asyncio.wait(list(_async_io._background_tasks))
        gc.collect()

    with caplog.at_level(logging.WARNING, logger='gntplib'):
        io_loop.run_sync(start_up, timeout=10)
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    receiver = ServerThread(port=port).start()
    try:
        response = io_loop.run_sync(lambda: publisher.publish('update', 'Up now'), timeout=10)
        assert response.ok and 'App' in receiver.applications
    finally:
        receiver.stop()
