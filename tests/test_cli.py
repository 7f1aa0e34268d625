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
from typing import List

import pytest

from tests.conftest import cli_env, run_cli
from tests.support.hardening_support import exchange
from gntplib import Event, GNTPResponseError, Publisher, Resource, SocketCallback
from gntplib.cli import build_parser, main
from gntplib.requests import parse_response

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
    result = run_cli('notify', '--app', 'Env', '--event', 'e', '--title', 'T',
                     '--hash', 'sha512', '--cipher', 'AES', **env)
    assert result.returncode == 0, result.stderr
    received = gntp_server_thread.received[-1].received
    assert (received.key.algorithm_id, received.encryption_algorithm_id) == ('SHA512', 'AES')
    wrong = run_cli('register', '--app', 'Env', '--event', 'e', **dict(env, GNTP_PASSWORD='no'))
    assert wrong.returncode == 1
    assert one_line_error(wrong.stderr) == 'gntplib: error: 400 Invalid key hash'


def test_failures_are_one_line_on_stderr(gntp_server_thread):
    refused = run_cli('notify', '--app', 'A', '--event', 'e', '--title', 'T',
                      '--host', '127.0.0.1', '--port', str(dead_port()), '--timeout', '2')
    assert refused.returncode == 1 and 'connecting failed' in one_line_error(refused.stderr)
    no_password = run_cli('notify', '--app', 'A', '--event', 'e', '--title', 'T',
                          '--port', str(gntp_server_thread.port), '--cipher', 'AES')
    assert no_password.returncode == 1 and 'needs a password' in one_line_error(
        no_password.stderr)
    missing = run_cli('notify', '--app', 'A', '--event', 'e', '--title', 'T',
                      '--port', str(gntp_server_thread.port), '--icon', '/no/such/icon.png')
    assert missing.returncode == 1 and 'cannot read resource' in one_line_error(missing.stderr)
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
    assert no_password.returncode == 1 and 'hub password' in one_line_error(no_password.stderr)


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
    results: List[object] = []
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
    assert main(['serve', '--port', '0', '--server-id', 'two words']) == 1
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
