"""The catalogue of pluto's trouble messages, per version, and what swandoc makes of each.

``messages.json`` beside this module is written by ``scripts/extract-pluto-messages`` from the
Libreswan sources at several tags (3.x, 4.x, 5.x). Each entry is one message: a stable ``key``,
an ``example`` line as pluto prints it (sample values from the documentation ranges), the
``template`` (the same line with ``…`` where pluto fills in a value), the ``versions`` it appears
in, and either the ``event`` kind :func:`swandoc.logparse.events.parse_message` turns it into or
``ignored`` with the reason swandoc deliberately draws no conclusion from it.

At run time only the ignored templates are used: a line that looks like trouble but that no
pattern turns into an event is reported as unrecognised trouble, unless it is a message the
catalogue knowingly ignores.

>>> key_of('no suitable connection for peer "%s"')
'no-suitable-connection-for-peer-acc0a3'
>>> template_of('retransmission %d of %s')
'retransmission … of …'
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any
from ..lazyregex import LazyPattern
from ..trie import trie_pattern

PATH = Path(__file__).with_name("messages.json")
_DIRECTIVE = re.compile(r"%[-+ #0]*(?:\*|\d+)?(?:\.(?:\*|\d+))?(?:hh|h|ll|l|j|z|t|L)?[diouxXeEfgGcsp]")
GAP = "…"

# What "looks like trouble" in a pluto message: the extractor keeps source messages with these words,
# and the parser reports a line with them that no pattern understands (unless ignored below).
TROUBLE = LazyPattern(  # compiled when first used: analysis runs the lower-cased copy below, the extractor this
    r"fail|reject|refus|\bno\b[^.;]{0,80}?\bfound|not found|cannot|can't|could not|couldn't|unable|ERROR|ASSERTION|"
    r"EXPECTATION|retransmi|timeout|timed out|time out|invalid|bogus|mismatch|unacceptable|NO_PROPOSAL|"
    r"AUTHENTICATION_FAILED|TS_UNACCEPTABLE|INVALID_|no suitable|no acceptable|no connection|not allowed|"
    r"denied|abort|dead(?! Peer Detection)|unsupported|not supported|malformed|missing|does not match|do not match|wrong|"
    r"terminat|expired|revoked|dropping|discarding|ignoring|giving up|too many|exceed|we require|peer declares|"
    r"not running|FATAL|segfault|signal \d|core dumped|dumped core|not usable|syntax error|does not allow", re.I)

# TROUBLE runs on every line no pattern understands; as a case-insensitive alternation it costs ~30 us a
# line. The same words lower-cased, found first as plain substrings (one trie-shaped regex for all) and
# only then confirmed by the same pattern case-sensitively on the lower-cased line, cost a seventh of
# that. TROUBLE_HINTS must hold a literal part of every alternative of TROUBLE: a test checks that no
# line TROUBLE matches is missed (tests/analyze/test_catalogue.py).
TROUBLE_HINTS = (
    "fail", "reject", "refus", "found", "cannot", "can't", "could not", "couldn't", "unable", "error", "assertion",
    "expectation", "retransmi", "timeout", "timed out", "time out", "invalid", "bogus", "mismatch", "unacceptable",
    "no_proposal", "no suitable", "no acceptable", "no connection", "not allowed", "denied", "abort", "dead",
    "unsupported", "not supported", "malformed", "missing", "does not match", "do not match", "wrong", "terminat",
    "expired", "revoked", "dropping", "discarding", "ignoring", "giving up", "too many", "exceed", "we require",
    "peer declares", "not running", "fatal", "segfault", "signal ", "core dumped", "dumped core", "not usable",
    "syntax error", "does not allow")
_TROUBLE_FOLDED = LazyPattern(TROUBLE.pattern.lower())
_ANY_HINT = LazyPattern(trie_pattern(TROUBLE_HINTS))  # all the substring tests in one pass (half the time)


def looks_like_trouble(text: str) -> bool:
    """Does *text* read like trouble (what ``TROUBLE`` finds, case-insensitively)?

    >>> looks_like_trouble('"c" #3: Authentication FAILED'), looks_like_trouble('"c" #3: added IKEv2 connection')
    (True, False)
    >>> looks_like_trouble("no RSA key was found"), looks_like_trouble("Dead Peer Detection (RFC 3706): enabled")
    (True, False)
    """
    low = text.lower()
    return _ANY_HINT.search(low) is not None and _TROUBLE_FOLDED.search(low) is not None


# Families of trouble-worded messages swandoc deliberately draws no conclusion from, and why.
# Everything else that looks like trouble is either a specific event or shown as unrecognised trouble.
IGNORE_FAMILIES: list[tuple[LazyPattern, str]] = [(LazyPattern(p, re.I), why) for p, why in [
    (r"IMPAIR|impair|^blocking retransmit", "test-suite impairment: only set by Libreswan's own tests"),
    (r"suppressing retransmit", "routine: pluto stops its own retransmits while it waits for another exchange"),
    (r"opportunis|\bOE\b|private-or-clear|clear-or-private", "opportunistic encryption: peers without IPsec "
     "are expected and not a configured tunnel failing"),
    (r"^ignoring (?:CERTREQ|IPSECKEY|malformed CISCO|supplied|unknown|Vendor)|^ignoring Delete SA payload|"
     r"bogus responder CP ignored|next payload chain|^warning: Delete SA payload",
     "optional payload the peer sent that pluto skips; the exchange carries on"),
    (r"\$PLUTO_|pluto --config|^option --|impair option|chdir\(.*dumpdir|^\w+: warning: chdir",
     "pluto's own command-line or environment at start-up; the service manager shows these"),
    (r"read\(whackfd\)|whack", "chatter on the whack control socket (a command's session ended)"),
    (r"cached .* public key .* expired|has expired and has been deleted", "routine expiry of a cached DNS key"),
    (r"terminating SAs using this connection|^terminating ", "routine: a connection being replaced or deleted"),
    (r"reapchild failed with errno=10", "routine (3.x): no helper process was left to reap"),
    (r"discarding packet received during asynchronous work|Using first; ignoring others|Ignoring inappropriate "
     r"attribute|^ignoring \S+ certificate payload|ignoring certificate with unknown type|Ignoring MOBIKE UPDATE_SA",
     "routine: pluto sets aside a packet or an optional item while it works, and carries on"),
    (r"^failed to initiate \S+$", "whack's closing summary; the reason is the message pluto printed before it"),
    (r"seccomp security (?:for helper )?not supported|seccomp security was tolerant",
     "start-up notice: this kernel or build has no seccomp filtering; pluto runs normally without it"),
]]


def template_of(fmt: str) -> str:
    """A format string with every conversion replaced by one gap marker, whitespace collapsed."""
    text = _DIRECTIVE.sub(GAP, fmt).replace("%%", "%")
    return " ".join(text.split())


def key_of(fmt: str) -> str:
    """A stable, readable key: the first words of the message and a short digest of its template."""
    import hashlib  # only the extraction script and the tests key messages: not on every start

    template = template_of(fmt)
    words = re.findall(r"[a-z0-9]+", template.lower())[:6]
    digest = hashlib.sha1(template.encode()).hexdigest()[:6]
    return "-".join(words + [digest])


def version_order(label: str) -> tuple:
    """'openswan-2.6' < '3.25' < '3.32' < '4.6' < '5.2'."""
    family, _, number = label.rpartition("-")
    return (0 if family else 1,) + tuple(int(p) if p.isdigit() else 0 for p in number.split("."))


def load_entries(path: Path = PATH) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return json.loads(path.read_text(encoding="utf-8"))["messages"]


def save_entries(entries: list[dict[str, Any]], path: Path = PATH) -> None:
    doc = {"about": "pluto's trouble messages per Libreswan/Openswan version and what swandoc makes of each: "
                    "'event' is the kind swandoc's parser turns the example into ('trouble' = shown to the user as "
                    "unrecognised-trouble), 'ignored' the reason it deliberately draws no conclusion; written by "
                    "scripts/extract-pluto-messages (see swandoc/logparse/catalogue.py)",
           "messages": entries}
    # One message per line: the file diffs line by line when a new tag is extracted.
    body = ",\n".join(" " + json.dumps(e, ensure_ascii=False, sort_keys=True) for e in entries)
    path.write_text(f'{{"about": {json.dumps(doc["about"])},\n"messages": [\n{body}\n]}}\n', encoding="utf-8")


@lru_cache(maxsize=1)
def _ignored_regex() -> re.Pattern[str] | None:
    alternatives = []
    for entry in load_entries():
        if "ignored" in entry and len(entry["template"].replace(GAP, "").strip()) >= 8:
            pieces = [re.escape(p) for p in entry["template"].split(GAP)]
            # A value in the middle may hold spaces; one at the end is a single word (a name, a number):
            # the whole message must match, so 'failed to initiate …' does not swallow longer messages.
            last = len(pieces) - 2
            regex = "".join(p + (r"\S*" if i == last and not pieces[-1].strip() else ".{0,200}?")
                            for i, p in enumerate(pieces[:-1]))
            alternatives.append(regex + pieces[-1])
    if not alternatives:
        return None
    return re.compile("(?:" + "|".join(sorted(alternatives, key=len, reverse=True)) + r")\s*")


def is_ignored(message: str) -> bool:
    """Is this message (prefix removed) one the catalogue knowingly ignores?

    >>> is_ignored("IKE SA authentication request rejected by peer: AUTHENTICATION_FAILED")
    False
    >>> is_ignored("whack error: Broken pipe (errno 32)")
    True
    """
    regex = _ignored_regex()
    if regex and regex.fullmatch(message.strip()):
        return True
    return any(pattern.search(message) for pattern, _ in IGNORE_FAMILIES)
