"""The samples in docstrings are tests: every module under swandoc/ has its doctests run here.

insights-core style: a parser shows the input it reads and what it makes of it, and that example
must stay true. Modules are imported (not run as scripts), so relative imports work.
"""
from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                 for p in (ROOT / "swandoc").rglob("*.py") if p.name != "__main__.py")
# Where sample inputs must be: the parsers of logs, packets and probe output, the rules, the redaction.
MUST_HAVE_SAMPLES = ("swandoc.logparse.", "swandoc.rules.", "swandoc.bundle.redact", "swandoc.probes.")


@pytest.mark.parametrize("name", MODULES)
def test_docstring_samples_hold(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} docstring examples fail"


def test_the_parsers_rules_and_redaction_carry_samples():
    attempted = {prefix: 0 for prefix in MUST_HAVE_SAMPLES}
    for name in MODULES:
        for prefix in MUST_HAVE_SAMPLES:
            if name.startswith(prefix):
                attempted[prefix] += doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS,
                                                     report=False).attempted
    assert all(attempted.values()), attempted
