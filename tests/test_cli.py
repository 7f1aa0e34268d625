"""The ``gntplib`` command line, run as a subprocess the way a user runs it, and in-process
through ``main([...])``."""

from __future__ import annotations

import json
import os
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import threading
from typing import Dict, List, Optional

import pytest

from tests.conftest import ROOT, cli_env, run_cli
from tests.support.console import running, serve_then_notify
from tests.support.hardening_support import exchange
from gntplib import Event, GNTPResponseError, Publisher, Resource, SocketCallback
from gntplib.cli import build_parser, main
from gntplib.reader import ReaderLimits
from gntplib.requests import Response, parse_response

pytestmark = pytest.mark.filterwarnings('ignore::DeprecationWarning')

COMMANDS = ['notify', 'register', 'subscribe', 'serve', 'demo']


def dead_port() -> int:
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def one_line_error(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and 'Traceback' not in stderr, stderr
    assert lines[0].startswith('gntplib: error: ')
    return lines[0]


def run(*args: str, stdin: Optional[bytes] = None, env: Optional[Dict[str, str]] = None,
        timeout: float = 30) -> 'subprocess.CompletedProcess[str]':
    """``python -m gntplib ARGS`` with ``stdin`` as its standard input (a pipe), or none."""
    result = subprocess.run([sys.executable, '-m', 'gntplib', *args], capture_output=True,
                            input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
                            timeout=timeout, env=cli_env(**(env or {})), cwd=str(ROOT))
    return subprocess.CompletedProcess(result.args, result.returncode,
                                       result.stdout.decode(), result.stderr.decode())


def usage_error(stderr: str, command: str) -> str:
    """The one line of a usage or validation error (exit status 2), without the usage
    text argparse prints before its own."""
    assert 'Traceback' not in stderr, stderr
    lines = [line for line in stderr.strip().splitlines()
             if not line.startswith(('usage:', ' '))]
    assert len(lines) == 1 and lines[0].startswith(f'gntplib {command}: error: '), stderr
    return lines[0]


# -- as a subprocess -----------------------------------------------------------------------------

def test_help_everywhere_and_usage_errors():
    top = run_cli('--help')
    assert top.returncode == 0 and all(command in top.stdout for command in COMMANDS)
    for command in COMMANDS:
        result = run_cli(command, '--help')
        assert result.returncode == 0 and f'gntplib {command}' in result.stdout
    assert run_cli().returncode == 2
    bad = run_cli('notify', '--app', 'A', '--event', 'e', '--title', 'T', '--priority', '5')
    assert bad.returncode == 2 and 'invalid choice' in bad.stderr
    assert run_cli('notify', '--app', 'A').returncode == 2
    assert run_cli('serve', GNTP_PORT='nope').returncode == 2  # checked before serving


def test_notify_registers_if_needed_then_notifies(gntp_server_thread, tmp_path):
    icon = tmp_path / 'icon.png'
    icon.write_bytes(b'\x89PNG fake icon')
    result = run_cli('notify', '--app', 'CLI App', '--event', 'build', '--title', 'Build done',
                     '--text', 'all green', '--port', str(gntp_server_thread.port),
                     '--icon', str(icon), '--sticky', '--priority', '2', '--id', 'b-1')
    assert result.returncode == 0, result.stderr
    assert '-OK REGISTER' in result.stdout
    assert '-OK NOTIFY (Notification-ID: b-1)' in result.stdout
    register, notify = gntp_server_thread.received[-2:]
    assert register.app_name == 'CLI App' and [e.name for e in register.events] == ['build']
    n = notify.notification
    assert (n.title, n.text, n.sticky, n.priority, n.icon.data) == \
        ('Build done', 'all green', True, 2, b'\x89PNG fake icon')
    assert gntp_server_thread.errors[-1][1] == 401  # the first try, before registering
    again = run_cli('notify', '--app', 'CLI App', '--event', 'build', '--title', 'Again',
                    '--port', str(gntp_server_thread.port), '--icon', 'http://example.com/i.png')
    assert again.returncode == 0 and 'REGISTER' not in again.stdout
    assert gntp_server_thread.received[-1].notification.icon == 'http://example.com/i.png'


@pytest.mark.gntp_server(password='s3cret')
def test_environment_variables_password_hash_and_cipher(gntp_server_thread):
    env = {'GNTP_HOST': '127.0.0.1', 'GNTP_PORT': str(gntp_server_thread.port),
           'GNTP_PASSWORD': 's3cret'}
    result = run('notify', '--app', 'Env', '--event', 'e', '--title', 'T',
                 '--hash', 'sha512', '--cipher', 'AES', env=env)
    assert result.returncode == 0, result.stderr
    received = gntp_server_thread.received[-1].received
    assert (received.key.algorithm_id, received.encryption_algorithm_id) == ('SHA512', 'AES')
    wrong = run('register', '--app', 'Env', '--event', 'e', env=dict(env, GNTP_PASSWORD='no'))
    assert wrong.returncode == 1
    assert one_line_error(wrong.stderr) == 'gntplib: error: 400 Invalid key hash'


def test_failures_are_one_line_on_stderr(gntp_server_thread):
    refused = run_cli('notify', '--app', 'A', '--event', 'e', '--title', 'T',
                      '--host', '127.0.0.1', '--port', str(dead_port()), '--timeout', '2')
    assert refused.returncode == 1 and 'connecting failed' in one_line_error(refused.stderr)
    unregistered = run_cli('notify', '--app', 'A', '--event', 'e', '--title', 'T',
                           '--port', str(gntp_server_thread.port), '--no-register')
    assert unregistered.returncode == 1
    assert one_line_error(unregistered.stderr).endswith('401 Application not registered')


@pytest.mark.gntp_server(password='hub-pw', subscription_ttl=90)
def test_register_and_subscribe(gntp_server_thread):
    port = str(gntp_server_thread.port)
    registered = run_cli('register', '--app', 'R', '--event', 'a', '--event', 'b', '--port', port)
    assert registered.returncode == 0 and "registered 'R' with a, b" in registered.stdout
    assert list(gntp_server_thread.applications['R'].events) == ['a', 'b']
    subscribed = run_cli('subscribe', '--hub', f'127.0.0.1:{port}', '--password', 'hub-pw',
                         '--name', 'desk', '--subscriber-port', '23100')
    assert subscribed.returncode == 0, subscribed.stderr
    assert 'Subscription-TTL: 90' in subscribed.stdout and 'for 90 s' in subscribed.stdout
    [subscription] = gntp_server_thread.subscribers.values()
    assert (subscription.name, subscription.port) == ('desk', 23100)
    no_password = run_cli('subscribe', '--hub', f'127.0.0.1:{port}')
    assert no_password.returncode == 2 and 'hub password' in usage_error(no_password.stderr,
                                                                         'subscribe')


def test_serve_json_prints_one_object_per_request_and_stops_on_signals(gntplib_serve):
    server = gntplib_serve('--json', '--password', 'pw', '--callback-result', 'CLICK')
    pub = Publisher('Served', [Event('update'), Event('off', enabled=False)], port=server.port,
                    password='pw', timeout=5)
    pub.register()
    pub.publish('update', 'Over the wire', 'text', icon=Resource(b'ICON'))
    with pytest.raises(GNTPResponseError):
        pub.publish('off', 'disabled')
    register, notify, error = server.json(), server.json(), server.json()
    assert (register['type'], register['application']) == ('REGISTER', 'Served')
    assert (notify['type'], notify['notification'], notify['title'], notify['text']) == \
        ('NOTIFY', 'update', 'Over the wire', 'text')
    assert notify['headers']['Notification-Title'] == 'Over the wire'
    assert notify['resources'] == [{'identifier': Resource(b'ICON').identifier(), 'length': 4,
                                    'md5': Resource(b'ICON').identifier()}]
    assert notify['key_hash_algorithm'] == 'SHA256'
    assert (error['type'], error['code']) == ('ERROR', 404)
    assert server.stop(signal.SIGTERM) == 0
    assert any('stopped' in line for line in server.rest_of_stderr())


def test_serve_console_output_and_count(gntplib_serve):
    server = gntplib_serve('--count', '2', '--notification-timeout', '0.2')
    results: List[Response] = []
    pub = Publisher('Counted', ['update'], port=server.port, timeout=5)
    pub.register()
    pub.publish('update', 'Fading', gntp_callback=SocketCallback(on_timeout=results.append))
    assert server.proc.wait(20) == 0  # exits by itself after two requests
    output = ''.join(iter(lambda: server.stdout.get(timeout=5) or '', ''))
    assert 'REGISTER from 127.0.0.1' in output and 'Counted/update "Fading"' in output
    assert [r.callback_result for r in results] == ['TIMEDOUT']


def test_demo_runs_the_walkthrough():
    result = run_cli('demo', timeout=60)
    assert result.returncode == 0, result.stderr
    for step in ('1. Register', '2. Send a notification', '3. Authenticate',
                 '4. Encrypt', '5. Send an icon', '6. Socket callback', 'on_click ran'):
        assert step in result.stdout
    assert 'GNTPAuthenticationError: 400 Invalid key hash  (as expected)' in result.stdout


# The script sits beside the interpreter of an installed environment (.venv/bin in CI),
# which need not be on PATH.
CONSOLE_SCRIPT = shutil.which('gntplib', path=os.path.dirname(sys.executable)) \
    or shutil.which('gntplib')


@pytest.mark.skipif(CONSOLE_SCRIPT is None, reason='the console script is not installed')
def test_console_script_is_the_same_program():
    assert CONSOLE_SCRIPT is not None
    result = subprocess.run([CONSOLE_SCRIPT, '--version'], capture_output=True, text=True,
                            timeout=30, env=cli_env())
    assert result.returncode == 0 and result.stdout.startswith('gntplib ')


# -- in-process, through main() --------------------------------------------------------------------

def test_main_in_process(gntp_server_thread, capsys):
    port = str(gntp_server_thread.port)
    assert main(['notify', '--app', 'InProc', '--event', 'e', '--title', 'T', '--port', port,
                 '--callback-url', 'http://example.com/cb']) == 0
    out = capsys.readouterr().out
    assert '-OK REGISTER' in out and '-OK NOTIFY' in out
    assert gntp_server_thread.received[-1].notification.gntp_callback.url == \
        'http://example.com/cb'
    assert main(['-v', 'register', '--app', 'InProc', '--event', 'x', '--port', port]) == 0
    assert '< Response-Action: REGISTER' in capsys.readouterr().err
    assert main(['register', '--app', 'InProc', '--event', 'x', '--port', port,
                 '--password', 'unexpected']) == 1
    assert capsys.readouterr().err.strip() == 'gntplib: error: 400 Invalid key hash'
    assert main(['subscribe', '--hub', f'127.0.0.1:{port}', '--password', 'x']) == 1
    capsys.readouterr()
    assert main(['serve', '--fd', '99999']) == 1
    assert capsys.readouterr().err.startswith('gntplib: error: --fd 99999: ')
    assert main(['--version']) == 0 and main([]) == 2 and main(['bogus']) == 2
    assert capsys.readouterr().out.startswith('gntplib ')


@pytest.mark.gntp_server(notification_timeout=0.1)
def test_main_notify_waits_for_a_socket_callback(gntp_server_thread, capsys):
    args = ['notify', '--app', 'CB', '--event', 'e', '--title', 'T',
            '--port', str(gntp_server_thread.port), '--callback-context', 'ctx']
    assert main(args) == 0
    assert "callback: TIMEDOUT (context 'ctx')" in capsys.readouterr().out
    assert main(args + ['--sticky', '--callback-timeout', '0.2']) == 0
    assert 'callback: none' in capsys.readouterr().out


def test_main_serve_on_an_inherited_socket(capsys):
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    fd = listener.detach()  # `serve --fd` takes the socket over
    codes: List[int] = []
    worker = threading.Thread(target=lambda: codes.append(
        main(['serve', '--fd', str(fd), '--count', '2', '--json', '--desktop'])))
    worker.start()
    pub = Publisher('Inherited', ['update'], port=port, timeout=5)
    pub.register()
    pub.publish('update', 'via fd')
    worker.join(30)
    assert codes == [0]
    captured = capsys.readouterr()
    objects = [json.loads(line) for line in captured.out.splitlines()]
    assert [o['type'] for o in objects] == ['REGISTER', 'NOTIFY']
    assert objects[1]['title'] == 'via fd'
    assert f'fd {fd} (port {port})' in captured.err


def test_serve_server_id_names_the_server_in_loop_detection(gntplib_serve, capsys):
    server = gntplib_serve('--server-id', 'hub-7')
    looped = ('GNTP/1.0 NOTIFY NONE\r\nApplication-Name: A\r\nNotification-Name: n\r\n'
              'Notification-Title: t\r\nReceived: From 10.0.0.2 by desk with gntplib id '
              'HUB-7; 2026-11-21 10:00:00Z\r\n\r\n').encode()
    answer = parse_response(exchange(server.port, looped))
    assert (answer.message_type, answer.error_code) == ('-ERROR', 403)
    assert main(['serve', '--port', '0', '--server-id', 'two words']) == 2  # validation
    assert 'server_id must be one word' in capsys.readouterr().err


def test_main_demo_in_process(capsys):
    assert main(['demo']) == 0
    assert 'on_click ran with context' in capsys.readouterr().out


def test_python_dash_m_runs_main(monkeypatch, capsys):
    monkeypatch.setattr(sys, 'argv', ['gntplib', '--version'])  # what `python -m` would see
    with pytest.raises(SystemExit) as exit_:
        runpy.run_module('gntplib', run_name='__main__')
    assert exit_.value.code == 0 and capsys.readouterr().out.startswith('gntplib ')


def test_split_hub_and_parser_defaults(monkeypatch):
    from gntplib.cli import _split_hub
    assert _split_hub('hub.example:1234') == ('hub.example', 1234)
    assert _split_hub('hub.example') == ('hub.example', 23053)
    assert _split_hub('[::1]:99') == ('::1', 99)
    # Environment variables are read when the parser is built (the OS is what varies here).
    monkeypatch.setenv('GNTP_HOST', 'example.org')
    monkeypatch.setenv('GNTP_PORT', '4000')
    args = build_parser().parse_args(['notify', '--app', 'a', '--event', 'e', '--title', 't'])
    assert (args.host, args.port, args.hash, args.cipher) == ('example.org', 4000, 'SHA256',
                                                               'NONE')
    serve = build_parser().parse_args(['serve'])
    assert (serve.host, serve.port) == ('127.0.0.1', 4000)  # serve never binds GNTP_HOST


# -- notify, the way notify-send is used ---------------------------------------------------------

def test_notify_title_and_text_like_notify_send_with_short_flags(gntp_server_thread, tmp_path):
    port = str(gntp_server_thread.port)
    plain = run('notify', 'Hello', 'from the shell', '-p', port)
    assert plain.returncode == 0, plain.stderr
    register, notify = gntp_server_thread.received[-2:]
    assert (register.app_name, [e.name for e in register.events]) == ('gntplib',
                                                                       ['notification'])
    n = notify.notification
    assert (notify.app_name, n.name, n.title, n.text) == ('gntplib', 'notification', 'Hello',
                                                          'from the shell')
    icon = tmp_path / 'icon.png'
    icon.write_bytes(b'\x89PNG short flags')
    short = run('notify', '-a', 'Short', '-e', 'flags', '-i', str(icon), '-s', '-u', 'critical',
                '-H', '127.0.0.1', '-p', port, 'Title only')
    assert short.returncode == 0, short.stderr
    notify = gntp_server_thread.received[-1]
    n = notify.notification
    assert (notify.app_name, n.name, n.title, n.text, n.sticky, n.priority, n.icon.data) == \
        ('Short', 'flags', 'Title only', '', True, 2, b'\x89PNG short flags')
    old = run('notify', '--app', 'Old', '--event', 'style', '--title', 'T', '--text', 'x',
              '--priority', '-1', '--port', port)
    assert old.returncode == 0, old.stderr
    n = gntp_server_thread.received[-1].notification
    assert (n.title, n.text, n.priority) == ('T', 'x', -1)


def test_the_text_comes_from_stdin_with_dash_or_a_pipe(gntp_server_thread):
    port = str(gntp_server_thread.port)

    def sent(*args: str, stdin: Optional[bytes] = None) -> str:
        result = run('notify', '-p', port, *args, stdin=stdin)
        assert result.returncode == 0, result.stderr
        text: str = gntp_server_thread.received[-1].notification.text
        return text
    assert sent('Dash', '--text', '-', stdin='line one\nline two: ünïcode\n'.encode()) == \
        'line one\nline two: ünïcode'
    assert sent('Dash positional', '-', stdin=b'positional dash\n') == 'positional dash'
    assert sent('Piped', stdin=b'from a pipe\n') == 'from a pipe'
    assert sent('Given', 'the argument', stdin=b'not read') == 'the argument'
    assert sent('Nothing') == ''  # stdin is /dev/null: not read


@pytest.mark.gntp_server(limits=ReaderLimits(max_header_block_size=16 * 1024 * 1024))
def test_a_multi_megabyte_text_from_stdin_arrives_whole(gntp_server_thread):
    body = ''.join(f'{i:07d} build log line\n' for i in range(350_000))  # 8.4 MB
    assert len(body) > 8_000_000
    result = run('notify', '-p', str(gntp_server_thread.port), 'Build log',
                 stdin=body.encode())
    assert result.returncode == 0, result.stderr
    assert gntp_server_thread.received[-1].notification.text == body[:-1]


def test_a_text_over_the_receivers_limit_is_one_clear_error(gntp_server_thread):
    body = b'x' * (2 * 1024 * 1024)  # over the default 1 MiB header block
    result = run('notify', '-p', str(gntp_server_thread.port), '--no-register', 'Too big',
                 stdin=body)
    assert result.returncode == 1
    assert 'header block larger than 1048576 bytes' in one_line_error(result.stderr)


@pytest.mark.gntp_server(password='pw-Secret-1')
def test_verbose_anywhere_shows_the_exchange_without_secrets(gntp_server_thread):
    port = str(gntp_server_thread.port)
    for i, (before, after) in enumerate(((['-v'], []), ([], ['-v']), (['-v'], ['--verbose']))):
        result = run(*before, 'notify', 'Traced', 'body text', '-p', port, '-P', 'pw-Secret-1',
                     '--cipher', 'AES', '-a', f'Tracer {i}', *after)
        assert result.returncode == 0, result.stderr
        err = result.stderr
        assert '> GNTP/1.0 NOTIFY AES:… SHA256:…' in err
        assert '> Notification-Title: Traced' in err and '> Notification-Text: body text' in err
        assert '< GNTP/1.0 -ERROR NONE' in err and '< Error-Code: 401' in err  # first try
        assert '> GNTP/1.0 REGISTER AES:… SHA256:…' in err
        assert '< GNTP/1.0 -OK NONE' in err and '< Response-Action: NOTIFY' in err
        key = gntp_server_thread.received[-1].received.key
        for secret in ('pw-Secret-1', key.key_hash.hex(), key.key_hash.hex().upper(),
                       key.salt.hex(), key.salt.hex().upper()):
            assert secret not in result.stdout + err
    quiet = run('notify', 'Quiet', '-p', port, '-P', 'pw-Secret-1', '-a', 'Tracer 0')
    assert quiet.returncode == 0 and quiet.stderr == ''


@pytest.mark.gntp_server(callback_result='CLICK')
def test_wait_prints_the_callback_and_verbose_shows_it(gntp_server_thread):
    result = run('notify', '-p', str(gntp_server_thread.port), '--wait', '-v', 'Click me')
    assert result.returncode == 0, result.stderr
    assert "callback: CLICK (context 'gntplib')" in result.stdout
    assert 'gntplib: waiting up to 60 s for the callback' in result.stderr
    assert '< GNTP/1.0 -CALLBACK NONE' in result.stderr


@pytest.mark.gntp_server(notification_timeout=None)
def test_waiting_for_the_callback_says_so_and_ctrl_c_exits_130(gntp_server_thread):
    argv = [sys.executable, '-m', 'gntplib', 'notify', '-p', str(gntp_server_thread.port),
            '--callback-context', 'ctx', '--sticky', 'Waiting']
    with running(argv, ROOT, cli_env()) as (proc, out, err):
        assert '-OK NOTIFY' in out.until('-OK NOTIFY')
        assert err.until('waiting') == ('gntplib: waiting up to 60 s for the callback (click '
                                        'or close the notification; Ctrl-C to stop)\n')
        assert gntp_server_thread.received[-1].notification.gntp_callback.context == 'ctx'
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 130
        assert 'Traceback' not in err.rest()


def test_usage_and_validation_errors_exit_2_before_sending(gntp_server_thread, tmp_path):
    port = str(gntp_server_thread.port)
    cases = [
        ('the title is empty', ['', '-p', port]),
        ('the title is empty', ['--title', '  ', '-p', port]),
        ('a title is needed', ['-p', port]),
        ('the title is given twice', ['A', '--title', 'B', '-p', port]),
        ('the text is given twice', ['A', 'x', '--text', 'y', '-p', port]),
        ('--timeout: must be more than 0 seconds: -5', ['T', '--timeout', '-5']),
        ('--timeout: must be more than 0 seconds: 0', ['T', '--timeout', '0']),
        ('--timeout: not a number of seconds', ['T', '--timeout', 'soon']),
        ('--callback-timeout: must be more than 0', ['T', '--callback-timeout', '0']),
        ('AES encryption needs a password', ['T', '--cipher', 'AES', '-p', port]),
        ('cannot read resource file', ['T', '-i', str(tmp_path / 'missing.png'), '-p', port]),
        ('cannot read resource file', ['T', '-i', str(tmp_path), '-p', port]),  # a directory
        ('--priority: invalid choice', ['T', '-u', '9', '-p', port]),
    ]
    for expected, argv in cases:
        result = run('notify', *argv)
        assert result.returncode == 2, (argv, result.stderr)
        assert expected in usage_error(result.stderr, 'notify'), (argv, result.stderr)
    register = run('register', '-a', 'A', '-e', 'e', '-i', str(tmp_path / 'no.png'), '-p', port)
    assert register.returncode == 2 and 'cannot read' in usage_error(register.stderr,
                                                                     'register')
    assert gntp_server_thread.received == []  # nothing was sent


def test_serve_exits_130_on_ctrl_c(gntplib_serve):
    server = gntplib_serve()
    assert server.stop(signal.SIGINT) == 130
    assert 'Traceback' not in ''.join(server.rest_of_stderr())


@pytest.mark.parametrize('command', ['serve', 'demo'])
def test_missing_tornado_is_a_one_line_message(command):
    # What a core install (no `async` extra) sees: Tornado cannot be imported.
    code = ('import sys; sys.modules["tornado"] = None\n'
            'from gntplib.cli import main; sys.exit(main(sys.argv[1:]))')
    argv = [command, '--port', '0'] if command == 'serve' else [command]
    result = subprocess.run([sys.executable, '-c', code, *argv], capture_output=True, text=True,
                            timeout=30, env=cli_env(), cwd=str(ROOT), stdin=subprocess.DEVNULL)
    assert result.returncode == 1
    assert result.stderr == (f'gntplib: error: gntplib {command} needs Tornado, which is not '
                             "installed: pip install 'gntplib[async]'\n")


@pytest.mark.skipif(CONSOLE_SCRIPT is None, reason='the console script is not installed')
def test_the_demos_last_hint_works_as_printed(default_port_lock):
    """After scripts/demo, .venv/bin is not on PATH: the hint must say how to run gntplib
    from there, and the two commands it prints must work, pasted into a shell."""
    assert CONSOLE_SCRIPT is not None
    env = cli_env()
    bindir = os.path.dirname(CONSOLE_SCRIPT)
    env['PATH'] = os.pathsep.join(p for p in env.get('PATH', '').split(os.pathsep)
                                  if p and os.path.abspath(p) != bindir)
    demo = subprocess.run([CONSOLE_SCRIPT, 'demo'], capture_output=True, text=True, timeout=60,
                          env=env, cwd=str(ROOT), stdin=subprocess.DEVNULL)
    assert demo.returncode == 0, demo.stderr
    lines = demo.stdout.splitlines()
    hint = lines.index('Try it yourself, in two terminals:')
    serve_command, notify_command = (line.strip() for line in lines[hint + 1:hint + 3])
    assert serve_command.endswith(' serve') and ' notify ' in notify_command
    serve_then_notify(serve_command, notify_command, '"Hello"', ROOT, env)


@pytest.mark.gntp_server(password='pw')
def test_main_verbose_shows_encrypted_requests_and_resources(gntp_server_thread, capsys,
                                                             tmp_path):
    icon = tmp_path / 'icon.png'
    icon.write_bytes(b'\x89PNG' + b'x' * 600)
    assert main(['notify', 'T', 'x' * 500, '-i', str(icon), '-p', str(gntp_server_thread.port),
                 '-P', 'pw', '--cipher', 'AES', '-v']) == 0
    err = capsys.readouterr().err
    assert '> GNTP/1.0 NOTIFY AES:… SHA256:…' in err
    assert f'[resource {Resource(icon.read_bytes()).identifier()}: 604 bytes]' in err
    assert '[headers and resources sent encrypted with AES]' in err
    assert '… (119 more characters)' in err  # a long value is cut (519 characters)
    assert main(['subscribe', '--hub', f'127.0.0.1:{gntp_server_thread.port}', '-P', 'pw',
                 '--name', 'desk', '-v']) == 0
    assert '> GNTP/1.0 SUBSCRIBE NONE SHA256:…' in capsys.readouterr().err
