"""What differs between the Pythons swandoc runs on (3.9, RHEL 9's system Python, to 3.13).

``SLOTS`` gives dataclasses ``__slots__`` where the interpreter supports it (3.10+): the many small
facts a long log produces then cost less memory, and on 3.9 they still work, only a little bigger.
"""
from __future__ import annotations

import sys

SLOTS: dict[str, bool] = {"slots": True} if sys.version_info >= (3, 10) else {}
