"""The ``gntplib`` command line: send notifications, run the embedded server, run the demo,
diagnose a receiver.

``gntplib`` (the console script) and ``python -m gntplib`` run :func:`main`. The command is
not called ``gntp``: kfdm's ``gntp`` package owns that name.

::

    gntplib notify "New version" "2.0 is out"          # like notify-send
    gntplib notify --app MyApp --event update --title "New version" [--text "2.0 is out"]
    make 2>&1 | gntplib notify "Build log"              # the text from stdin
    gntplib register --app MyApp --event update --event error
    gntplib subscribe --hub HOST[:PORT] --password PW [--name me]
    gntplib serve [--host 127.0.0.1] [--port 23053] [--password PW] [--json] [--state DIR]
    gntplib doctor [--host H] [--port P] [--password PW]
    gntplib demo

Defaults come from the environment: ``GNTP_HOST``, ``GNTP_PORT`` and ``GNTP_PASSWORD``
(``serve`` reads the last two; it binds to ``--host`` only, so a client setting never opens
a server to the network). Exit status: 0 on success, 1 when a GNTP operation fails (one
line on stderr), 2 for usage and validation errors, 130 when interrupted with Ctrl-C.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import socket
import stat
import sys
import threading
import uuid
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from . import __version__, ciphers, constants as c, keys
from ._demo import describe as _describe
from .display import Display, DisplayEvent
from .exceptions import GNTPError, GNTPResponseError, GNTPValidationError
from .lib import Publisher, Subscriber
from .models import Event, Resource, SocketCallback
from .requests import Response

__all__ = ['main', 'build_parser', 'UsageError']

logger = logging.getLogger(__name__)

_HASHES = list(keys.ALGORITHMS)
_CIPHERS = ['NONE'] + list(ciphers.ALGORITHMS)

#: ``notify`` without ``--app`` / ``--event``.
DEFAULT_APP = 'gntplib'
DEFAULT_EVENT = 'notification'

#: ``--priority`` by name: notify-send's urgencies and GNTP's priorities.
_PRIORITY_NAMES = {'very-low': -2, 'low': -1, 'normal': 0, 'high': 1, 'critical': 2,
                   'emergency': 2}


class UsageError(GNTPError):
    """The command line asks for something impossible (exit status 2)."""


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


def _seconds(text: str) -> float:
    """A positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'not a number of seconds: {text!r}') from None
    if not value > 0 or value == float('inf'):
        raise argparse.ArgumentTypeError(f'must be more than 0 seconds: {text}')
    return value


def _priority(text: str) -> int:
    name = text.strip().lower()
    if name in _PRIORITY_NAMES:
        return _PRIORITY_NAMES[name]
    try:
        value = int(name)
    except ValueError:
        value = 99
    if not -2 <= value <= 2:
        raise argparse.ArgumentTypeError(
            f'invalid choice: {text!r} (-2 to 2, or {", ".join(_PRIORITY_NAMES)})')
    return value


def _add_client_options(parser: argparse.ArgumentParser, hub: bool = False) -> None:
    group = parser.add_argument_group('connection')
    if not hub:
        group.add_argument('-H', '--host', default=os.environ.get('GNTP_HOST') or 'localhost',
                           help='GNTP server host (env GNTP_HOST; default localhost)')
        group.add_argument('-p', '--port', type=_port, default=_env_port(),
                           help='GNTP server port (env GNTP_PORT; default 23053)')
    group.add_argument('-P', '--password', default=os.environ.get('GNTP_PASSWORD') or None,
                       help='password (env GNTP_PASSWORD; default none)')
    group.add_argument('--hash', choices=_HASHES, default='SHA256', type=str.upper,
                       help='key hash algorithm used with a password (default SHA256)')
    group.add_argument('--cipher', choices=_CIPHERS, default='NONE', type=str.upper,
                       help='encrypt with this cipher (needs a password; default NONE)')
    group.add_argument('--timeout', type=_seconds, default=c.DEFAULT_TIMEOUT,
                       help='seconds for connecting and each answer (default 10)')


def _icon(value: Optional[str]) -> Any:
    """A URL stays a URL; anything else is a file whose bytes are sent inline."""
    if value is None:
        return None
    if '://' in value:
        return value
    try:
        return Resource.from_file(value)
    except GNTPError as exc:
        raise UsageError(str(exc)) from None


def _security(args: argparse.Namespace) -> Dict[str, Any]:
    return {
        'timeout': args.timeout, 'key_hashing': keys.get_algorithm(args.hash),
        'encryption': None if args.cipher == 'NONE' else ciphers.get_algorithm(args.cipher),
    }


def _client_kwargs(args: argparse.Namespace) -> Dict[str, Any]:
    kwargs = dict(_security(args), host=args.host, port=args.port, password=args.password)
    if args.verbose:
        from ._trace import tracing_client
        kwargs['gntp_client_class'] = tracing_client(sys.stderr)
    return kwargs


# -- notify / register / subscribe -------------------------------------------------------------

def _cmd_register(args: argparse.Namespace) -> int:
    publisher = Publisher(args.app, [Event(name) for name in args.event], _icon(args.icon),
                          **_client_kwargs(args))
    response = publisher.register()
    print(f'{_describe(response)}: registered {args.app!r} with {", ".join(args.event)} '
          f'at {args.host}:{args.port}')
    return 0


def _stdin_is_redirected() -> bool:
    """Whether stdin is a pipe or a file (``cmd | gntplib notify T``, ``< file``), not a
    terminal, ``/dev/null`` or absent."""
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (AttributeError, OSError, ValueError):  # closed, or replaced (pytest, IDEs)
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode)


def _read_stdin() -> str:
    data = sys.stdin.buffer.read() if hasattr(sys.stdin, 'buffer') else \
        sys.stdin.read().encode('utf-8')
    text = data.decode('utf-8', errors='replace')
    return text[:-1] if text.endswith('\n') else text  # echo's and most tools' last newline


def _title_and_text(args: argparse.Namespace) -> Tuple[str, str]:
    if args.title_arg is not None and args.title is not None:
        raise UsageError('the title is given twice (TITLE and --title)')
    if args.text_arg is not None and args.text is not None:
        raise UsageError('the text is given twice (TEXT and --text)')
    title = args.title_arg if args.title_arg is not None else args.title
    text = args.text_arg if args.text_arg is not None else args.text
    if title is None:
        raise UsageError('a title is needed: gntplib notify TITLE [TEXT]')
    if not title.strip():
        raise UsageError('the title is empty')
    if text == '-' or (text is None and _stdin_is_redirected()):
        text = _read_stdin()
    return title, text or ''


def _cmd_notify(args: argparse.Namespace) -> int:
    title, text = _title_and_text(args)
    icon = _icon(args.icon)
    # auto_register=False: this command registers by itself, and says so (--no-register).
    publisher = Publisher(args.app, [args.event], _icon(args.app_icon), auto_register=False,
                          callback_timeout=args.callback_timeout, **_client_kwargs(args))
    results: List[Response] = []
    gntp_callback: Any = None
    context = args.callback_context
    if context is None and args.wait:
        context = 'gntplib'
    if context is not None:
        def on_callback(response: Response) -> None:
            if args.verbose:
                from ._trace import trace_callback
                trace_callback(sys.stderr, response)
            results.append(response)
        gntp_callback = SocketCallback(context, args.callback_context_type,
                                       on_click=on_callback, on_close=on_callback,
                                       on_timeout=on_callback)
    elif args.callback_url is not None:
        gntp_callback = args.callback_url

    def on_ok(response: Response) -> None:
        print(f'{_describe(response)}: notified {title!r} at {args.host}:{args.port}',
              flush=True)
        if context is not None:
            print(f'gntplib: waiting up to {args.callback_timeout:g} s for the callback '
                  '(click or close the notification; Ctrl-C to stop)',
                  file=sys.stderr, flush=True)

    def publish() -> Response:
        response: Response = publisher.publish(
            args.event, title, text, id_=args.id, sticky=args.sticky,
            priority=args.priority, icon=icon, coalescing_id=args.coalescing_id,
            callback=on_ok, gntp_callback=gntp_callback)
        return response

    try:
        publish()
    except GNTPResponseError as exc:
        # "Register if needed": the server does not know the application or event yet.
        if args.no_register or exc.error_code not in (c.ERROR_UNKNOWN_APPLICATION,
                                                      c.ERROR_UNKNOWN_NOTIFICATION):
            raise
        print(f'{_describe(publisher.register())}: registered {args.app!r} with {args.event}')
        publish()
    if context is not None:
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
        raise UsageError('subscribing needs the hub password (--password or GNTP_PASSWORD)')
    host, port = _split_hub(args.hub)
    name = args.name or socket.gethostname()
    # The same ID renews the same subscription, so derive it from stable facts by default.
    sub_id = args.id or str(uuid.uuid5(uuid.NAMESPACE_DNS, f'{name}.{socket.gethostname()}'))
    kwargs = _security(args)
    if args.verbose:
        from ._trace import tracing_client
        kwargs['gntp_client_class'] = tracing_client(sys.stderr)
    subscriber = Subscriber(sub_id, name, (host, port), args.password,
                            args.subscriber_port, **kwargs)
    response = subscriber.subscribe()
    print(f'{_describe(response)}: subscribed to {host}:{port} as {name!r} (id {sub_id}); '
          f'forwarded notifications go to port {args.subscriber_port} for {subscriber.ttl} s')
    return 0


# -- doctor ---------------------------------------------------------------------------------------

def _cmd_doctor(args: argparse.Namespace) -> int:
    from .doctor import Doctor
    doctor = Doctor(args.host, args.port, args.password, hashing=args.hash,
                    timeout=args.timeout, callback_timeout=args.callback_timeout,
                    app=args.app, event=args.event, cipher=args.cipher,
                    trace=sys.stderr if args.verbose else None)
    return doctor.run(sys.stdout)


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
                          server_id=args.server_id, display=displays, state=state,
                          max_received=0)  # GNTPServer.received is for tests; none here
    thread.start()
    # What is alive now (modules, the server) lives as long as the process: kept out of the
    # collector's full passes, which would otherwise walk it all again every few thousand
    # requests (about 15% of a busy server's CPU, benchmarks/server.py).
    gc.freeze()
    previous = {}
    received: List[int] = []

    def on_signal(signum: int, frame: Any) -> None:
        received.append(signum)
        stop.set()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, on_signal)
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
    # Ctrl-C is an interruption (130, as for every command); SIGTERM a clean stop.
    return 130 if signal.SIGINT in received else 0


def _desktop_display(args: argparse.Namespace) -> Display:
    """D-Bus notifications (clickable) with the ``desktop`` extra, else notify-send."""
    from .desktop import DesktopDisplay, jeepney_available
    from .display import NotifySendDisplay
    if jeepney_available():
        return DesktopDisplay(expire_timeout=args.notification_timeout or 10.0)
    fallback = NotifySendDisplay()
    print("gntplib: jeepney is not installed (pip install 'gntplib[desktop]'); " + (
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

def _cmd_demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo
    return run_demo(sys.stdout)


# -- the parser and main ---------------------------------------------------------------------

def _verbose_option(parser: argparse.ArgumentParser, dest: str) -> None:
    parser.add_argument('-v', '--verbose', action='count', default=0, dest=dest,
                        help='show the exchange (requests and answers, secrets left out) '
                        'and log to stderr; -vv adds debug logs')


def build_parser() -> argparse.ArgumentParser:
    """Build the ``gntplib`` argument parser."""
    parser = argparse.ArgumentParser(
        prog='gntplib', description='Send GNTP (Growl) notifications, or receive them with '
        'the embedded server. Run "gntplib demo" for a walkthrough, "gntplib doctor" to '
        'check a receiver.')
    parser.add_argument('--version', action='version', version=f'gntplib {__version__}')
    _verbose_option(parser, 'verbose')
    commands = parser.add_subparsers(dest='command', metavar='COMMAND')

    def command(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, **kwargs)
        _verbose_option(sub, 'sub_verbose')  # -v after the command counts too
        return sub

    notify = command('notify', help='send a notification (registers if needed)',
                     usage='gntplib notify [options] TITLE [TEXT]',
                     description='Send a notification, like notify-send: gntplib notify '
                     'TITLE [TEXT]. If the server does not know the application or event '
                     'yet, register them and retry. Without TEXT, the text is read from '
                     'stdin when that is a pipe or a file (or with --text -).')
    notify.add_argument('title_arg', nargs='?', metavar='TITLE', help='title')
    notify.add_argument('text_arg', nargs='?', metavar='TEXT',
                        help='message text ("-" reads it from stdin)')
    notify.add_argument('-a', '--app', default=DEFAULT_APP,
                        help=f'application name (default {DEFAULT_APP!r})')
    notify.add_argument('-e', '--event', default=DEFAULT_EVENT,
                        help=f'notification type (event) name (default {DEFAULT_EVENT!r})')
    notify.add_argument('--title', help='title (instead of TITLE)')
    notify.add_argument('--text', help='message text (instead of TEXT; "-" reads stdin)')
    notify.add_argument('-i', '--icon', help='icon: an image file (sent inline) or a URL')
    notify.add_argument('--app-icon', help='application icon, used if registering')
    notify.add_argument('-s', '--sticky', action='store_true',
                        help='keep it until dismissed')
    notify.add_argument('-u', '--priority', type=_priority, default=0, metavar='PRIORITY',
                        help='-2 (very low) to 2 (emergency), or very-low, low, normal, '
                        'high, critical')
    notify.add_argument('--id', help='Notification-ID, echoed in the answer and callback')
    notify.add_argument('--coalescing-id', help='replace earlier notifications with this ID')
    notify.add_argument('-w', '--wait', action='store_true',
                        help='ask for a socket callback and wait for the click or close')
    notify.add_argument('--callback-context', metavar='TEXT',
                        help='ask for a socket callback with this context and wait for it '
                        '(prints the result)')
    notify.add_argument('--callback-context-type', default='string', metavar='TYPE',
                        help='type label of the callback context (default string)')
    notify.add_argument('--callback-url', metavar='URL', help='URL callback instead')
    notify.add_argument('--callback-timeout', type=_seconds,
                        default=c.DEFAULT_CALLBACK_TIMEOUT,
                        help='seconds to wait for the socket callback (default 60)')
    notify.add_argument('--no-register', action='store_true',
                        help='never register, fail if the server does not know the app')
    _add_client_options(notify)
    notify.set_defaults(func=_cmd_notify)

    register = command('register', help='register an application and events')
    register.add_argument('-a', '--app', required=True, help='application name')
    register.add_argument('-e', '--event', required=True, action='append',
                          help='notification type (repeat for several)')
    register.add_argument('-i', '--icon', help='application icon: an image file or a URL')
    _add_client_options(register)
    register.set_defaults(func=_cmd_register)

    subscribe = command('subscribe', help='ask a hub to forward notifications')
    hub_default = f'{os.environ.get("GNTP_HOST") or "localhost"}:{_env_port()}'
    subscribe.add_argument('--hub', default=hub_default, metavar='HOST[:PORT]',
                           help='the hub (env GNTP_HOST and GNTP_PORT; default localhost)')
    subscribe.add_argument('--name', help='subscriber name (default: this host name)')
    subscribe.add_argument('--id', help='subscriber ID (default: derived from the name)')
    subscribe.add_argument('--subscriber-port', type=_port, default=c.DEFAULT_PORT,
                           help='port the hub forwards to (default 23053)')
    _add_client_options(subscribe, hub=True)
    subscribe.set_defaults(func=_cmd_subscribe)

    serve = command('serve', help='run the embedded GNTP server',
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
                       "needs pip install 'gntplib[forward]')")
    serve.add_argument('--count', type=int, default=0,
                       help='exit after accepting this many requests')
    from .web.command import add_options as add_web_options  # no Tornado imported
    add_web_options(serve)
    serve.set_defaults(func=_cmd_serve)

    doctor = command('doctor', help='check that notifications get through to a receiver',
                     description='Try a receiver step by step (connect, password, register, '
                     'notify, encryption, callbacks) and say what works and what does not. '
                     'Exit status 0 only when a test notification got through.')
    doctor.add_argument('-a', '--app', help='check this registered application instead of '
                        'registering gntplib doctor\'s own')
    doctor.add_argument('-e', '--event', help='with --app: the notification type to try '
                        '(default: its first)')
    doctor.add_argument('--callback-timeout', type=_seconds, default=10.0,
                        help='seconds to wait for a socket callback (default 10)')
    _add_client_options(doctor)
    doctor.set_defaults(func=_cmd_doctor)

    demo = command('demo', help='walk through gntplib against the embedded server',
                   description='Start the embedded server on a free port and walk through '
                   'register, notify, password, encryption, icon and socket callback.')
    demo.set_defaults(func=_cmd_demo)
    return parser


def _missing_extra(exc: ModuleNotFoundError, command: str) -> Optional[str]:
    """The one-line message for a missing optional dependency, or ``None``."""
    top = (exc.name or '').split('.')[0]
    extra = {'tornado': ('Tornado', 'async'), 'Cryptodome': ('pycryptodomex', 'crypto')}
    if top not in extra:
        return None
    package, name = extra[top]
    return (f'gntplib {command} needs {package}, which is not installed: '
            f"pip install 'gntplib[{name}]'")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``gntplib`` command.

    Args:
        argv: The arguments (default ``sys.argv[1:]``).

    Returns:
        The exit status: 0 success, 1 GNTP failure, 2 usage or validation error, 130
        interrupted (Ctrl-C).
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    args.verbose += args.sub_verbose
    if args.verbose > 1:
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr,
                            format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    elif args.verbose:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                            format='%(levelname)s %(name)s: %(message)s')
    try:
        return int(args.func(args))
    except (UsageError, GNTPValidationError) as exc:
        print(f'gntplib {args.command}: error: {exc}', file=sys.stderr)
        return 2
    except GNTPError as exc:
        print(f'gntplib: error: {exc}', file=sys.stderr)
        return 1
    except ModuleNotFoundError as exc:
        message = _missing_extra(exc, args.command)
        if message is None:
            raise
        print(f'gntplib: error: {message}', file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)  # end the line after the terminal's ^C
        return 130
