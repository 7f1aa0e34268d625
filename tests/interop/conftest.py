"""Fixtures of tests/interop: the real peers, started and stopped around each test."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator, List

import pytest

from .support import GrowlForLinux

StartGol = Callable[..., GrowlForLinux]


@pytest.fixture
def gol(require_program: Callable[..., str], default_port_lock: None,
        tmp_path: Path) -> Iterator[StartGol]:
    """``gol(**settings)``: growl-for-linux, headless, on 0.0.0.0:23053, with ``settings``
    written into its config table (e.g. ``password='pw'``); stopped after the test."""
    started: List[GrowlForLinux] = []
    gol_path, xvfb, dbus_launch = (require_program(name)
                                   for name in ('gol', 'Xvfb', 'dbus-launch'))

    def start(**settings: str) -> GrowlForLinux:
        receiver = GrowlForLinux(gol_path, xvfb, dbus_launch, tmp_path / f'gol-{len(started)}')
        started.append(receiver)
        return receiver.start(settings)
    try:
        yield start
    finally:
        for receiver in started:
            receiver.stop()
