"""``gntplib serve --desktop`` as a user runs it, and opening URLs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import List

from tests.conftest import ROOT, cli_env, run_cli
from gntplib.desktop import open_url

from .processes import wait_until


def test_serve_desktop_shows_on_the_session_bus(private_bus, scripted, gntplib_serve):
    server = scripted()
    serve = gntplib_serve('--desktop', DBUS_SESSION_BUS_ADDRESS=private_bus.address)
    result = run_cli('notify', '--port', str(serve.port), '--app', 'CLI', '--event', 'ev',
                     '--title', 'From the shell', '--text', '<i>x</i>', '--priority', '2')
    notification = server.wait_for_notifications()[0]
    assert (notification['app_name'], notification['summary'], notification['body']) == (
        'CLI', 'From the shell', '&lt;i&gt;x&lt;/i&gt;')
    assert notification['actions'] == []  # nobody to tell about a click
    assert notification['hints']['urgency'] == 2
    assert result.returncode == 0, result.stderr
    assert serve.stop() == 0


def test_serve_desktop_clicks_reach_gntplib_notify(private_bus, scripted, gntplib_serve):
    server = scripted()
    serve = gntplib_serve('--desktop', DBUS_SESSION_BUS_ADDRESS=private_bus.address)
    notify = subprocess.Popen(
        [sys.executable, '-m', 'gntplib', 'notify', '--port', str(serve.port), '--app', 'CLI',
         '--event', 'ev', '--title', 'Click me', '--callback-context', 'clicked-ctx',
         '--callback-timeout', '20'], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=cli_env(), cwd=str(ROOT))
    notification = server.wait_for_notifications()[0]
    assert notification['actions'] == ['default', 'Open']
    server.signal(server.click(notification['id']))
    out, err = notify.communicate(timeout=20)
    assert notify.returncode == 0, err
    assert 'CLICK' in out and 'clicked-ctx' in out
    serve.stop()


def test_serve_desktop_without_jeepney_says_so(tmp_path: Path):
    stub = tmp_path / 'stub' / 'jeepney'
    stub.mkdir(parents=True)
    (stub / '__init__.py').write_text('raise ImportError("jeepney is not installed")\n')
    env = cli_env(PYTHONPATH=os.pathsep.join([str(tmp_path / 'stub'), str(ROOT)]),
                  PATH=str(tmp_path))  # and no notify-send either
    proc = subprocess.Popen([sys.executable, '-m', 'gntplib', 'serve', '--port', '0',
                             '--desktop'], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=str(ROOT))
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        second = proc.stderr.readline()
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stderr is not None:
            proc.stderr.close()
    assert "jeepney is not installed (pip install 'gntplib[desktop]')" in first
    assert 'notify-send is not installed either' in first
    assert 'listening on 127.0.0.1:' in second


def test_open_url_runs_xdg_open(tmp_path: Path, monkeypatch):
    record = tmp_path / 'opened'
    program = tmp_path / 'xdg-open'
    program.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {record}.part && '
                       f'mv {record}.part {record}\n')
    program.chmod(0o755)
    monkeypatch.setenv('PATH', os.pathsep.join([str(tmp_path), '/usr/bin', '/bin']))
    open_url('https://example.com/?a=1&b=2')
    wait_until(record.exists, 10, 'xdg-open to run')
    assert record.read_text() == 'https://example.com/?a=1&b=2'


def test_open_url_without_xdg_open_uses_webbrowser(tmp_path: Path, monkeypatch):
    # Mocked: a test must not start the machine's real browser.
    opened: List[str] = []
    monkeypatch.setenv('PATH', str(tmp_path))
    monkeypatch.setattr('webbrowser.open', opened.append)
    open_url('https://example.com/')
    assert opened == ['https://example.com/']
