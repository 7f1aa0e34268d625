"""The ``gntplib`` command line: send notifications, run the embedded server, run the demo.

``gntplib`` (the console script) and ``python -m gntplib`` run :func:`main`. The command is
not called ``gntp``: kfdm's ``gntp`` package owns that name.

::

    gntplib notify --app MyApp --event update --title "New version" [--text "2.0 is out"]
    gntplib register --app MyApp --event update --event error
    gntplib subscribe --hub HOST[:PORT] --password PW [--name me]
    gntplib serve [--host 127.0.0.1] [--port 23053] [--password PW] [--json] [--state DIR]
    gntplib demo

Defaults come from the environment: ``GNTP_HOST``, ``GNTP_PORT`` and ``GNTP_PASSWORD``
(``serve`` reads the last two; it binds to ``--host`` only, so a client setting never opens
a server to the network). Exit status: 0 on success, 1 when a GNTP operation fails (one
line on stderr), 2 for usage errors.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import struct
import sys
import threading
import uuid
import zlib
from typing import Any, Callable, Dict, List, Optional, Sequence, TextIO, Tuple

from . import __version__, ciphers, constants as c, keys
from .display import Display, DisplayEvent
from .exceptions import GNTPError, GNTPResponseError
from .lib import Publisher, Subscriber
from .models import Event, Resource, SocketCallback
from .requests import Response

__all__ = ['main', 'build_parser']

logger = logging.getLogger(__name__)

_HASHES = list(keys.ALGORITHMS)
_CIPHERS = ['NONE'] + list(ciphers.ALGORITHMS)


def _env_port(default: int = c.DEFAULT_PORT) -> Any:
    value = os.environ.get('GNTP_PORT')
    return value if value else default


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'invalid port {text!r}') from None
    if not 0 <= port < 65536:
        raise argparse.ArgumentTypeError(f'port out of range: {port}')
    return port


def _add_client_options(parser: argparse.ArgumentParser, hub: bool = False) -> None:
    group = parser.add_argument_group('connection')
    if not hub:
        group.add_argument('--host', default=os.environ.get('GNTP_HOST') or 'localhost',
                           help='GNTP server host (env GNTP_HOST; default localhost)')
        group.add_argument('--port', type=_port, default=_env_port(),
                           help='GNTP server port (env GNTP_PORT; default 23053)')
    group.add_argument('--password', default=os.environ.get('GNTP_PASSWORD') or None,
                       help='password (env GNTP_PASSWORD; default none)')
    group.add_argument('--hash', choices=_HASHES, default='SHA256', type=str.upper,
                       help='key hash algorithm used with a password (default SHA256)')
    group.add_argument('--cipher', choices=_CIPHERS, default='NONE', type=str.upper,
                       help='encrypt with this cipher (needs a password; default NONE)')
    group.add_argument('--timeout', type=float, default=c.DEFAULT_TIMEOUT,
                       help='seconds for connecting and each answer (default 10)')


def _icon(value: Optional[str]) -> Any:
    """A URL stays a URL; anything else is a file whose bytes are sent inline."""
    if value is None:
        return None
    if '://' in value:
        return value
    return Resource.from_file(value)


def _security(args: argparse.Namespace) -> Dict[str, Any]:
    return {
        'timeout': args.timeout, 'key_hashing': keys.get_algorithm(args.hash),
        'encryption': None if args.cipher == 'NONE' else ciphers.get_algorithm(args.cipher),
    }


def _client_kwargs(args: argparse.Namespace) -> Dict[str, Any]:
    return dict(_security(args), host=args.host, port=args.port, password=args.password)


def _describe(response: Response) -> str:
    extras = [f'{name}: {response.headers[name]}' for name in
              ('Notification-ID', 'Subscription-TTL') if name in response.headers]
    return f'-OK {response.action or ""}' + (f' ({", ".join(extras)})' if extras else '')


# -- notify / register / subscribe -------------------------------------------------------------

def _cmd_register(args: argparse.Namespace) -> int:
    publisher = Publisher(args.app, [Event(name) for name in args.event], _icon(args.icon),
                          **_client_kwargs(args))
    response = publisher.register()
    print(f'{_describe(response)}: registered {args.app!r} with {", ".join(args.event)} '
          f'at {args.host}:{args.port}')
    return 0


def _cmd_notify(args: argparse.Namespace) -> int:
    # auto_register=False: this command registers by itself, and says so (--no-register).
    publisher = Publisher(args.app, [args.event], _icon(args.app_icon), auto_register=False,
                          callback_timeout=args.callback_timeout, **_client_kwargs(args))
    results: List[Response] = []
    gntp_callback: Any = None
    if args.callback_context is not None:
        gntp_callback = SocketCallback(args.callback_context, args.callback_context_type,
                                       on_click=results.append, on_close=results.append,
                                       on_timeout=results.append)
    elif args.callback_url is not None:
        gntp_callback = args.callback_url

    def publish() -> Response:
        response: Response = publisher.publish(
            args.event, args.title, args.text, id_=args.id, sticky=args.sticky,
            priority=args.priority, icon=_icon(args.icon), coalescing_id=args.coalescing_id,
            gntp_callback=gntp_callback)
        return response

    try:
        response = publish()
    except GNTPResponseError as exc:
        # "Register if needed": the server does not know the application or event yet.
        if args.no_register or exc.error_code not in (c.ERROR_UNKNOWN_APPLICATION,
                                                      c.ERROR_UNKNOWN_NOTIFICATION):
            raise
        print(f'{_describe(publisher.register())}: registered {args.app!r} with {args.event}')
        response = publish()
    print(f'{_describe(response)}: notified {args.title!r} at {args.host}:{args.port}')
    if gntp_callback is not None and args.callback_context is not None:
        if results:
            print(f'callback: {results[0].callback_result} '
                  f'(context {results[0].context!r})')
        else:
            print(f'callback: none (the server closed the connection, or '
                  f'{args.callback_timeout:g} s passed)')
    return 0


def _split_hub(hub: str) -> Tuple[str, int]:
    host, sep, port = hub.rpartition(':')
    if sep and port.isdigit() and not host.endswith(':'):
        return host.strip('[]'), _port(port)
    return hub, c.DEFAULT_PORT


def _cmd_subscribe(args: argparse.Namespace) -> int:
    if not args.password:
        raise GNTPError('subscribing needs the hub password (--password or GNTP_PASSWORD)')
    host, port = _split_hub(args.hub)
    name = args.name or socket.gethostname()
    # The same ID renews the same subscription, so derive it from stable facts by default.
    sub_id = args.id or str(uuid.uuid5(uuid.NAMESPACE_DNS, f'{name}.{socket.gethostname()}'))
    subscriber = Subscriber(sub_id, name, (host, port), args.password,
                            args.subscriber_port, **_security(args))
    response = subscriber.subscribe()
    print(f'{_describe(response)}: subscribed to {host}:{port} as {name!r} (id {sub_id}); '
          f'forwarded notifications go to port {args.subscriber_port} for {subscriber.ttl} s')
    return 0


# -- serve ----------------------------------------------------------------------------------------

def _cmd_serve(args: argparse.Namespace) -> int:
    from .display import ConsoleDisplay, JSONLinesDisplay
    from .server import ServerThread

    stop = threading.Event()
    displays: List[Display] = [JSONLinesDisplay(sys.stdout) if args.json
                               else ConsoleDisplay(sys.stdout)]
    if args.desktop:
        displays.append(_desktop_display(args))
    if args.count:
        displays.append(_Counter(args.count, stop.set))
    from .web.command import receiver_from_args
    web = receiver_from_args(args)  # the page is served from the GNTP server's loop
    if web is not None:
        displays.append(web.display)
    passwords = args.password or ([os.environ['GNTP_PASSWORD']]
                                  if os.environ.get('GNTP_PASSWORD') else None)
    try:
        sock = socket.socket(fileno=args.fd) if args.fd is not None else None
    except OSError as exc:
        raise GNTPError(f'--fd {args.fd}: {exc.strerror or exc}') from None
    state = _open_state(args)
    thread = ServerThread(host=args.host, port=args.port, sock=sock, password=passwords,
                          require_password=not args.no_require_password,
                          encrypt_responses=args.encrypt_responses,
                          callback_result=args.callback_result,
                          notification_timeout=args.notification_timeout or None,
                          callback_delay=max(0.0, args.callback_delay),
                          growl_mac_framing=args.mac_framing,
                          server_id=args.server_id, display=displays, state=state)
    thread.start()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, lambda *_: stop.set())
    try:
        where = f'{args.host}:{thread.port}' if sock is None \
            else f'fd {args.fd} (port {thread.port})'
        auth = 'password set' if passwords else 'no password'
        kept = f'state in {state.directory}' if state.directory else 'no state'
        print(f'gntplib: listening on {where} ({auth}; {kept}); Ctrl-C to stop',
              file=sys.stderr, flush=True)
        if not passwords and not args.no_require_password and args.host not in (
                '127.0.0.1', '::1', 'localhost'):
            print('gntplib: other machines must send a password, and none is set: they '
                  'will get -ERROR 400 (see --password, --no-require-password)',
                  file=sys.stderr, flush=True)
        if web is not None:
            from .web.command import announcement
            for line in announcement(web):
                print(line, file=sys.stderr, flush=True)
        stop.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        thread.stop(grace=2.0)
    print('gntplib: stopped', file=sys.stderr)
    return 0


def _desktop_display(args: argparse.Namespace) -> Display:
    """D-Bus notifications (clickable) with the ``desktop`` extra, else notify-send."""
    from .desktop import DesktopDisplay, jeepney_available
    from .display import NotifySendDisplay
    if jeepney_available():
        return DesktopDisplay(expire_timeout=args.notification_timeout or 10.0)
    fallback = NotifySendDisplay()
    print('gntplib: jeepney is not installed (pip install gntplib[desktop]); ' + (
        'using notify-send, which cannot report clicks' if fallback.available
        else 'notify-send is not installed either; no desktop notifications'),
        file=sys.stderr)
    return fallback


def _open_state(args: argparse.Namespace) -> Any:
    from .state import HistoryLimits, StateKeeper, default_state_dir
    directory = None if args.no_state else args.state or default_state_dir()
    try:
        limits = HistoryLimits(max_rows=args.history_rows, max_age=args.history_days * 86400)
    except ValueError:
        raise GNTPError('--history-rows and --history-days must be positive') from None
    return StateKeeper.open(directory, args.forward or (), limits)


class _Counter(Display):
    """A display backend that calls ``done`` once ``count`` requests were accepted."""

    def __init__(self, count: int, done: Callable[[], None]) -> None:
        self.count = count
        self.done = done

    def show(self, event: DisplayEvent) -> None:
        self.count -= 1
        if self.count <= 0:
            self.done()


# -- demo -----------------------------------------------------------------------------------------

_DEMO_APP = 'gntplib demo'
_DEMO_PASSWORD = 'demo-secret'


def _demo_icon(size: int = 16) -> bytes:
    """A small blue PNG, built here so the demo needs no files."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack('>I', len(data)) + tag + data
                + struct.pack('>I', zlib.crc32(tag + data) & 0xFFFFFFFF))
    rows = b''.join(b'\x00' + b'\x33\x99\xff' * size for _ in range(size))
    header = struct.pack('>IIBBBBB', size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header)
            + chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b''))


def run_demo(out: TextIO) -> int:
    """Run the walkthrough of ``gntplib demo``, writing the transcript to ``out``."""
    from .display import ConsoleDisplay
    from .exceptions import GNTPAuthenticationError, GNTPEncryptionError
    from .server import ServerThread

    def say(text: str = '') -> None:
        print(text, file=out, flush=True)

    def step(number: int, title: str) -> None:
        say()
        say(f'{number}. {title}')

    def call(text: str) -> None:
        say(f'    >>> {text}')

    def answer(response: Response) -> None:
        say(f'    <- {_describe(response)}')

    server_out = ConsoleDisplay(out, prefix='       server | ')
    with ServerThread(password=_DEMO_PASSWORD, display=server_out) as thread:
        port = thread.port
        say(f'gntplib {__version__} demo: GNTP without Growl')
        say(f'An embedded GNTP server (gntplib.server.GNTPServer) is listening on '
            f'127.0.0.1:{port}.')
        say('Each step shows the Python call, what the server received ("server |") and '
            'its answer ("<-").')

        step(1, 'Register an application and its notification types')
        call(f"publisher = Publisher({_DEMO_APP!r}, ['update', 'alert'], port={port})")
        publisher = Publisher(_DEMO_APP, ['update', 'alert'], port=port)
        call('publisher.register()')
        answer(publisher.register())

        step(2, 'Send a notification')
        call("publisher.publish('update', 'Hello from gntplib', 'This went over TCP.', "
             "id_='demo-1')")
        answer(publisher.publish('update', 'Hello from gntplib', 'This went over TCP.',
                                 id_='demo-1'))

        step(3, 'Authenticate with a password (SHA256 key hash)')
        say(f'    The server was started with password={_DEMO_PASSWORD!r}. Requests from this '
            'machine may omit it;')
        say('    a key hash that is sent is always checked.')
        call(f"secure = Publisher({_DEMO_APP!r}, ['update', 'alert'], port={port}, "
             f"password={_DEMO_PASSWORD!r}, key_hashing=keys.SHA256)")
        secure = Publisher(_DEMO_APP, ['update', 'alert'], port=port, password=_DEMO_PASSWORD,
                           key_hashing=keys.SHA256)
        call("secure.publish('alert', 'Signed', 'The server verified the key hash.')")
        answer(secure.publish('alert', 'Signed', 'The server verified the key hash.'))
        call("Publisher(..., password='wrong').publish('alert', 'Forged')")
        try:
            Publisher(_DEMO_APP, ['alert'], port=port, password='wrong').publish('alert', 'Forged')
        except GNTPAuthenticationError as exc:
            say(f'    <- {type(exc).__name__}: {exc}  (as expected)')
        else:
            raise GNTPError('the server accepted a wrong password')

        step(4, 'Encrypt the message (AES-192, needs pycryptodomex)')
        try:
            encrypted = Publisher(_DEMO_APP, ['update', 'alert'], port=port,
                                  password=_DEMO_PASSWORD, key_hashing=keys.SHA256,
                                  encryption=ciphers.AES)
        except GNTPEncryptionError as exc:
            say(f'    skipped: {exc}')
        else:
            call("encrypted = Publisher(..., password=..., key_hashing=keys.SHA256, "
                 "encryption=ciphers.AES)")
            call("encrypted.publish('update', 'Encrypted', 'Headers and icons travel "
                 "encrypted.')")
            answer(encrypted.publish('update', 'Encrypted',
                                     'Headers and icons travel encrypted.'))

        step(5, 'Send an icon (an inline binary resource)')
        icon = _demo_icon()
        call(f'icon = Resource(data=png_bytes)   # a 16x16 PNG of {len(icon)} bytes')
        call("publisher.publish('update', 'With an icon', icon=icon)")
        answer(publisher.publish('update', 'With an icon', icon=Resource(data=icon)))

        step(6, 'Socket callback: the server reports a click on the same connection')
        clicks: List[Response] = []

        def on_ok(response: Response) -> None:
            answer(response)
            say('    The connection stays open. Playing the user, the demo clicks the '
                'notification:')
            call("thread.send_callback('demo-click', 'CLICK')   # gntplib.server.ServerThread")
            thread.send_callback('demo-click', 'CLICK')

        call("publisher.publish('alert', 'Click me', id_='demo-click', callback=on_ok,")
        say("    ...                   gntp_callback=SocketCallback('open-changelog', "
            "'string', on_click=clicks.append))")
        publisher.publish('alert', 'Click me', id_='demo-click', callback=on_ok,
                          gntp_callback=SocketCallback('open-changelog', 'string',
                                                       on_click=clicks.append))
        if not clicks:
            raise GNTPError('no callback arrived')
        say(f'    <- -CALLBACK {clicks[0].callback_result}: on_click ran with context '
            f'{clicks[0].context!r}')

        received, errors = len(thread.received), len(thread.errors)
    say()
    say(f'Done: the server accepted {received} requests and refused {errors} '
        '(the wrong password).')
    say('Try it yourself, in two terminals:')
    say('    gntplib serve')
    say('    gntplib notify --app MyApp --event update --title "Hello" --text "from the shell"')
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    return run_demo(sys.stdout)


# -- the parser and main ---------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    """Build the ``gntplib`` argument parser."""
    parser = argparse.ArgumentParser(
        prog='gntplib', description='Send GNTP (Growl) notifications, or receive them with '
        'the embedded server. Run "gntplib demo" for a walkthrough.')
    parser.add_argument('--version', action='version', version=f'gntplib {__version__}')
    parser.add_argument('-v', '--verbose', action='count', default=0,
                        help='log to stderr (-vv for debug)')
    commands = parser.add_subparsers(dest='command', metavar='COMMAND')

    notify = commands.add_parser('notify', help='send a notification (registers if needed)',
                                 description='Send a notification; if the server does not know '
                                 'the application or event yet, register them and retry.')
    notify.add_argument('--app', required=True, help='application name')
    notify.add_argument('--event', required=True, help='notification type (event) name')
    notify.add_argument('--title', required=True, help='title')
    notify.add_argument('--text', default='', help='message text')
    notify.add_argument('--icon', help='icon: an image file (sent inline) or a URL')
    notify.add_argument('--app-icon', help='application icon, used if registering')
    notify.add_argument('--sticky', action='store_true', help='keep it until dismissed')
    notify.add_argument('--priority', type=int, default=0, choices=range(-2, 3),
                        metavar='{-2..2}', help='priority, -2 (very low) to 2 (emergency)')
    notify.add_argument('--id', help='Notification-ID, echoed in the answer and callback')
    notify.add_argument('--coalescing-id', help='replace earlier notifications with this ID')
    notify.add_argument('--callback-context', metavar='TEXT',
                        help='ask for a socket callback and wait for it (prints the result)')
    notify.add_argument('--callback-context-type', default='string', metavar='TYPE',
                        help='type label of the callback context (default string)')
    notify.add_argument('--callback-url', metavar='URL', help='URL callback instead')
    notify.add_argument('--callback-timeout', type=float, default=c.DEFAULT_CALLBACK_TIMEOUT,
                        help='seconds to wait for the socket callback (default 60)')
    notify.add_argument('--no-register', action='store_true',
                        help='never register, fail if the server does not know the app')
    _add_client_options(notify)
    notify.set_defaults(func=_cmd_notify)

    register = commands.add_parser('register', help='register an application and events')
    register.add_argument('--app', required=True, help='application name')
    register.add_argument('--event', required=True, action='append',
                          help='notification type (repeat for several)')
    register.add_argument('--icon', help='application icon: an image file or a URL')
    _add_client_options(register)
    register.set_defaults(func=_cmd_register)

    subscribe = commands.add_parser('subscribe', help='ask a hub to forward notifications')
    hub_default = f'{os.environ.get("GNTP_HOST") or "localhost"}:{_env_port()}'
    subscribe.add_argument('--hub', default=hub_default, metavar='HOST[:PORT]',
                           help='the hub (env GNTP_HOST and GNTP_PORT; default localhost)')
    subscribe.add_argument('--name', help='subscriber name (default: this host name)')
    subscribe.add_argument('--id', help='subscriber ID (default: derived from the name)')
    subscribe.add_argument('--subscriber-port', type=_port, default=c.DEFAULT_PORT,
                           help='port the hub forwards to (default 23053)')
    _add_client_options(subscribe, hub=True)
    subscribe.set_defaults(func=_cmd_subscribe)

    serve = commands.add_parser('serve', help='run the embedded GNTP server',
                                description='Receive GNTP requests and print them.')
    serve.add_argument('--host', default='127.0.0.1',
                       help='address to listen on (default 127.0.0.1)')
    serve.add_argument('--port', type=_port, default=_env_port(),
                       help='port (env GNTP_PORT; default 23053; 0 picks a free one)')
    serve.add_argument('--fd', type=int, metavar='FD',
                       help='serve on an inherited listening socket (e.g. systemd socket '
                       'activation) instead of --host/--port')
    serve.add_argument('--password', action='append',
                       help='accepted password, may repeat (env GNTP_PASSWORD)')
    serve.add_argument('--json', action='store_true',
                       help='print one JSON object per request instead of text')
    serve.add_argument('--desktop', action='store_true',
                       help='also show desktop notifications (D-Bus, clicks reach the '
                       'sender; notify-send without the desktop extra)')
    serve.add_argument('--no-require-password', action='store_true',
                       help='accept requests without a key hash from other machines too')
    serve.add_argument('--encrypt-responses', action='store_true',
                       help='encrypt -OK and -CALLBACK to encrypted requests (spec mode)')
    serve.add_argument('--callback-result', type=str.upper,
                       choices=['CLICK', 'CLOSE', 'TIMEDOUT'],
                       help='answer every socket callback at once with this result')
    serve.add_argument('--notification-timeout', type=float, default=10.0, metavar='SECONDS',
                       help='answer socket callbacks of non-sticky notifications TIMEDOUT '
                       'after this long (default 10; 0 never)')
    serve.add_argument('--callback-delay', type=float, default=0.05, metavar='SECONDS',
                       help='send a -CALLBACK at least this long after its -OK (default '
                       '0.05; clients such as node-notifier drop one arriving with the -OK)')
    serve.add_argument('--mac-framing', action='store_true',
                       help='end each message with three CR LFs, as Growl for Mac does '
                       '(ruby-growl needs it for callbacks)')
    serve.add_argument('--server-id', metavar='ID',
                       help='this server\'s name in the Received headers it adds when '
                       'forwarding, and how it recognises a forwarding loop (default: the '
                       'host name and a random suffix)')
    serve.add_argument('--state', metavar='DIR',
                       help='keep applications, subscriptions, history and the forwarding '
                       'outbox here (default $XDG_STATE_HOME/gntplib, else '
                       '~/.local/state/gntplib)')
    serve.add_argument('--no-state', action='store_true',
                       help='keep nothing across restarts (in memory only)')
    serve.add_argument('--history-rows', type=int, default=10000, metavar='N',
                       help='notifications the history keeps (default 10000)')
    serve.add_argument('--history-days', type=float, default=30.0, metavar='DAYS',
                       help='days a notification stays in the history (default 30)')
    serve.add_argument('--forward', action='append', metavar='SPEC',
                       help='forward notifications to an Apprise URL, optionally after '
                       'filters: "priority>=1 app=NAME,NAME event=NAME URL" (repeatable; '
                       'needs gntplib[forward])')
    serve.add_argument('--count', type=int, default=0,
                       help='exit after accepting this many requests')
    from .web.command import add_options as add_web_options  # no Tornado imported
    add_web_options(serve)
    serve.set_defaults(func=_cmd_serve)

    demo = commands.add_parser('demo', help='walk through gntplib against the embedded server',
                               description='Start the embedded server on a free port and '
                               'walk through register, notify, password, encryption, icon '
                               'and socket callback.')
    demo.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``gntplib`` command.

    Args:
        argv: The arguments (default ``sys.argv[1:]``).

    Returns:
        The exit status: 0 success, 1 GNTP failure, 2 usage error.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    if args.verbose:
        logging.basicConfig(level=logging.DEBUG if args.verbose > 1 else logging.INFO,
                            stream=sys.stderr,
                            format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    try:
        return int(args.func(args))
    except GNTPError as exc:
        print(f'gntplib: error: {exc}', file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
