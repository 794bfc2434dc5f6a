"""``python -m swandoc``: the same command, under its own name (click 7 would say ``__main__.py``)."""
from swandoc.cli import run

run()
