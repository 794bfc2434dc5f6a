"""``python -m swandoc``: the same command, under its own name (click 7 would say ``__main__.py``)."""
from swandoc.cli import main

main(prog_name="swandoc")
