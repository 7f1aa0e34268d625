"""Loading the shared byte-exact test vectors: $GNTP_VECTORS, else ../shared/vectors beside
the checkout, else the copy in tests/data/vectors (for a checkout on its own)."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any, Dict, List

_TESTS = Path(__file__).resolve().parent.parent
_CANDIDATES = [Path(os.environ['GNTP_VECTORS'])] if os.environ.get('GNTP_VECTORS') else []
_CANDIDATES += [_TESTS.parent.parent / 'shared' / 'vectors', _TESTS / 'data' / 'vectors']


def vectors_dir() -> Path:
    for candidate in _CANDIDATES:
        if (candidate / 'keys.json').exists():
            return candidate
    raise FileNotFoundError('test vectors not found; set GNTP_VECTORS')


def load(name: str) -> Dict[str, Any]:
    with open(vectors_dir() / name, encoding='utf-8') as f:
        return json.load(f)


def vectors(name: str, generated_only: bool = False) -> List[Dict[str, Any]]:
    items = load(name)['vectors']
    return [v for v in items if not (generated_only and 'kind' in v)]


def message_bytes(vector: Dict[str, Any]) -> bytes:
    return base64.b64decode(vector['message_b64'])


def by_name(name: str, vector_name: str) -> Dict[str, Any]:
    return next(v for v in vectors(name) if v['name'] == vector_name)
