"""Log rules: lines that read like trouble but that no rule understands are shown, never dropped.

The parser turns a pluto message with trouble words (failed, rejected, cannot, ERROR ...) that no
pattern knows into a 'trouble' event, unless swandoc's message catalogue lists it as deliberately
ignored (swandoc/logparse/messages.json). This rule puts them in front of the user, ranked last.
"""
from __future__ import annotations

from collections import Counter

from ..facts import Facts
from .registry import rule
from .knowledge import REF_LOGS, finding, topic
from .support import lines_of

MAX_SHOWN = 20  # evidence lines (the first and last of each connection's); every distinct message is listed too
MAX_MESSAGES = 30  # distinct messages listed in the details (each connection keeps up to 32, see facts.MAX_VALUES)

topic("unrecognised-trouble", "warning", "Lines that look like trouble but that swandoc does not know", "local", """
    pluto wrote these lines in words that usually mean something went wrong, but swandoc has no rule
    for them, so they were not used in the diagnosis above. They are shown so nothing is hidden: one of
    them may be the real cause.""", [
    "Read the lines below: they are pluto's own description of a problem",
    "Search for the message text (without addresses and numbers) in the Libreswan issue tracker and "
    "mailing list archives",
    "Report the line to swandoc so a rule can be added for it",
], REF_LOGS, 0)


@rule
def unrecognised(facts: Facts):
    signals = [s for c in facts.connections() for s in c.all("trouble")]
    crashed = any(c.has("crashed") for c in facts.connections())
    if not crashed:  # with a crash, pluto-crashed shows pluto's failed internal checks as its own evidence
        signals += [s for c in facts.connections() for s in c.all("internal_error")]
    if not signals:
        return
    messages: Counter[str] = Counter()
    for s in signals:
        messages.update(s.values)
    total = sum(s.count for s in signals)
    details = {f"message {i}": f"{text} (x{n})" for i, (text, n) in enumerate(messages.most_common(MAX_MESSAGES), 1)}
    if len(messages) > MAX_MESSAGES:
        details["more"] = f"{len(messages) - MAX_MESSAGES} further distinct messages"
    yield finding("unrecognised-trouble", None, lines_of(*signals)[:MAX_SHOWN], details=details,
                  title=f"{total} line{'s look' if total != 1 else ' looks'} like trouble but swandoc does not "
                        f"know {'them' if total != 1 else 'it'}")
