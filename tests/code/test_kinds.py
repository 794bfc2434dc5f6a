"""Every event kind the log parser can produce is a constant of logparse/kinds.py, in one group."""
from __future__ import annotations

import re
from pathlib import Path

from swandoc.facts import QUALIFIER_FIELD, TIMELINE_KINDS
from swandoc.logparse import events, kinds

SOURCE = (Path(events.__file__)).read_text()


def _produced() -> set[str]:
    from_table = {kind for kind, _, _ in events._PATTERNS}
    built = set(re.findall(r'(?:LogEvent\(kind=|_with_detail\()"([a-z_0-9]+)"', SOURCE))
    assert built, "the kinds the parser builds outside its pattern table are found"
    fallback = {events._trouble("negotiation failed", "negotiation failed")[0]}  # what no pattern understands
    return from_table | built | fallback


def test_every_kind_is_a_constant():
    assert _produced() - kinds.ALL == set()


def test_every_kind_in_exactly_one_group():
    for kind in kinds.ALL:
        assert sum(kind in group for group in kinds.GROUPS) == 1, kind


def test_facts_name_only_known_kinds():
    assert set(TIMELINE_KINDS) | set(QUALIFIER_FIELD) <= kinds.ALL


def test_qualifiers_are_fields_add_fields_can_read():
    # Facts.add_fields reads a qualifier from the fields after an event's time, or its source.
    from swandoc.model import LogEvent

    assert all(name == "source" or LogEvent._fields.index(name) > LogEvent._fields.index("time")
               for name in QUALIFIER_FIELD.values())


def test_no_kind_without_a_producer():
    assert kinds.ALL - _produced() == set()
