"""scripts/screenshot-desktop makes the docs' screenshot from a real notification."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

from tests.conftest import ROOT

from .processes import INSTALL, PROGRAMS


def test_screenshot_script_shows_a_notification(tmp_path: Path,
                                                require_program: Callable[..., str]) -> None:
    for program in PROGRAMS + ('import', 'convert'):
        require_program(program, install=INSTALL)
    output = tmp_path / 'shot.png'
    result = subprocess.run(['bash', str(ROOT / 'scripts' / 'screenshot-desktop'),
                             str(output)], capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, PYTHON=sys.executable))
    assert result.returncode == 0, result.stderr
    size = subprocess.run(['convert', str(output), '-format', '%w %h %k', 'info:'],
                          capture_output=True, text=True, check=True).stdout.split()
    width, height, colours = (int(n) for n in size)
    # Trimmed to the notification: smaller than the 640x240 screen, and more than a few
    # flat colours (text, icon gradient, frame).
    assert 200 < width < 640 and 50 < height < 240, size
    assert colours > 50, size
