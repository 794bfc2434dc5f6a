"""Words and shapes every renderer shares, so text, JSON and HTML never disagree.

- :func:`verdict_sentence`: the one sentence under the verdict.
- :data:`SIDE_WORDS`: what ``Finding.side`` means, in words an admin understands.
- :func:`split_fix_step`: a fix step as (prose, lines to copy).
- :func:`probe_rows`: ``report.extra("probes")`` normalised to (name, status, result) rows.
- :func:`clean`: log text with terminal control characters made visible (log text is hostile).
"""
from __future__ import annotations

import re
from typing import Any, Iterable

from ..facts import THIS_HOST
from ..model import Report

SIDE_WORDS = {
    "local": "this end (the host the evidence comes from)",
    "peer": "the remote peer",
    "path": "the network between the peers",
    "both": "both ends",
    "unknown": "not determined",
}

SIDE_SHORT = {
    "local": "this end",
    "peer": "remote peer",
    "path": "network path",
    "both": "both ends",
    "unknown": "side unknown",
}


def shown_host(host: str | None) -> bool:
    """Name the host beside evidence when it tells the ends apart (not in a one-host diagnose).

    >>> shown_host("gw-west"), shown_host("this host"), shown_host(None)
    (True, False, False)
    """
    return bool(host) and host != THIS_HOST


def side_words(side: str, short: bool = False) -> str:
    table = SIDE_SHORT if short else SIDE_WORDS
    return table.get(side, side or table["unknown"])


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def verdict_sentence(report: Report) -> str:
    """Why the verdict is what it is, in one sentence."""
    problems = [f for f in report.findings if f.severity != "info"]
    if report.verdict == "problems" and problems:
        first = problems[0]
        where = f' on connection "{first.connection}"' if first.connection else ""
        more = f" ({_plural(len(problems), 'problem')} in all)" if len(problems) > 1 else ""
        return f"Most likely cause{where}: {first.title}{more}."
    if report.verdict == "healthy" and report.command == "check":
        return "Every check swandoc ran passed (the probe list says what was checked)."
    if report.verdict == "healthy":
        conns = sorted({f.connection for f in report.findings if f.id == "tunnel-up" and f.connection})
        if conns:
            names = ", ".join(f'"{c}"' for c in conns)
            return f"Established and no problem seen: {names}."
        return "The tunnel was established and no problem was seen."
    if report.sources and not any(s.pluto_lines for s in report.sources):
        return "No pluto lines were found in the input, so there was nothing to diagnose; check that these are the right files."
    return ("No problem was recognised, but no established tunnel was seen either; "
            "the input may not cover a connection attempt.")


# Commands an admin would paste into a shell, and ipsec.conf / ipsec.secrets lines.
_COMMAND = re.compile(
    r"^(?:sudo\s+|#\s+|\$\s+)?(?:ipsec|iptables|ip6tables|iptables-save|nft|ip|sysctl|firewall-cmd|systemctl|"
    r"journalctl|tcpdump|certutil|pk12util|ping|tracepath|traceroute|ss|cat|grep|lsmod|modprobe|echo|swandoc|"
    r"conntrack|update-crypto-policies|fips-mode-setup|setenforce|getenforce|restorecon|ausearch|openssl)(?:\s|$)"
)
_CONFIG = re.compile(r"^\s*(?:conn\s+\S+|config\s+setup|[a-z][a-z0-9-]*=\S*.*|include\s+\S+|@?\S+\s+\S*\s*:\s*PSK\b.*)$")
# Where a sentence hands over to something to type.
_LEAD_IN = re.compile(r":\s+|\b(?:e\.g\.|for example),?\s+")
# Shell-ish tokens, keeping quoted strings whole so words inside them are not taken for prose.
_TOKEN = re.compile(r"\"[^\"]*\"\S*|'[^']*'\S*|\S+")
# English words that end a command written inline in a sentence ("ping PEER and lower the size").
_PROSE_WORDS = frozenset("and the to in on is are must lists shows with then if for of that see when until "
                         "which from at so while after before".split())


def looks_like_code(line: str) -> bool:
    """True for a shell command or a config line: something to copy rather than read."""
    s = line.strip()
    return bool(s) and bool(_COMMAND.match(s) or _CONFIG.match(s))


def _code_prefix(tail: str) -> tuple[str, str] | None:
    """(code, rest of the sentence) when ``tail`` starts with a command or config line."""
    if not looks_like_code(tail):
        return None
    end = len(tail)
    prev = ""
    for m in _TOKEN.finditer(tail):
        tok = m.group()
        if (tok.lower() in _PROSE_WORDS or (tok.startswith("(") and m.start() > 0)
                or (tok == "or" and prev.endswith(","))):  # "cmd --reload, or iptables ..."
            end = m.start()
            break
        prev = tok
    code, rest = tail[:end].rstrip(), tail[end:].strip()
    code = code.rstrip(",;.").strip("`")
    if not looks_like_code(code):
        return None
    return code, rest


FixStep = tuple[str, tuple[str, ...], str]


def step_only_for(step: str) -> str:
    """'' for a fix step that applies to every Libreswan version, else which versions, e.g. 'Libreswan 5.x'.

    >>> from swandoc.rules.knowledge import FixStep
    >>> step_only_for(FixStep("keyexchange=ikev2", ("5",))), step_only_for("ping PEER")
    ('Libreswan 5.x', '')
    """
    from ..rules.knowledge import step_versions, versions_label

    return versions_label(step_versions(step))


def split_fix_step(step: str) -> FixStep:
    """Split one fix step into (sentence, lines to copy, what the sentence says after them).

    Rules write steps as plain sentences, bare commands/config lines, ``"Sentence:\\n  line\\n  line"``
    (explicit, preferred), or inline ``"Sentence: command (note)"`` / ``"..., e.g. conf=line on both"``,
    which is split where a command or config line starts and ends.

    >>> split_fix_step("Open UDP 500 on the peer: iptables -I INPUT -p udp --dport 500 -j ACCEPT")
    ('Open UDP 500 on the peer:', ('iptables -I INPUT -p udp --dport 500 -j ACCEPT',), '')
    >>> split_fix_step("Find the path MTU: ping -M do -s 1472 PEER and lower the size until it passes")
    ('Find the path MTU:', ('ping -M do -s 1472 PEER',), 'and lower the size until it passes')
    >>> split_fix_step("ike=aes256-sha2_256;dh19")
    ('', ('ike=aes256-sha2_256;dh19',), '')
    >>> split_fix_step("Check the clocks on both ends.")
    ('Check the clocks on both ends.', (), '')
    """
    lines = step.strip("\n").split("\n")
    if len(lines) > 1:
        head, rest = lines[0], lines[1:]
        # Keep the code's own relative indentation but drop the common margin.
        margin = min((len(l) - len(l.lstrip()) for l in rest if l.strip()), default=0)
        code = tuple(l[margin:].rstrip() for l in rest if l.strip())
        if looks_like_code(head):
            return "", (head.strip(),) + code, ""
        return head.strip(), code, ""
    one = lines[0].strip()
    if one.startswith("`") and one.endswith("`") or looks_like_code(one) and _code_prefix(one) == (one, ""):
        return "", (one.strip("`"),), ""
    for m in _LEAD_IN.finditer(one):
        found = _code_prefix(one[m.end():])
        if found:
            code, rest = found
            return one[:m.end()].rstrip(), (code,), rest
    return one, (), ""


_STATUS_ORDER = ("fail", "error", "warn", "warning", "ok", "pass", "skipped", "skip")


def probe_rows(report: Report) -> list[tuple[str, str, str]]:
    """``report.extra("probes")`` as (name, status, result) string triples, in the given order."""
    rows: list[tuple[str, str, str]] = []
    for item in report.extra("probes") or ():
        if isinstance(item, dict):
            name, status, result = item.get("name"), item.get("status"), item.get("result")
        else:
            try:
                name, status, result = (list(item) + [None, None, None])[:3]
            except TypeError:
                name, status, result = item, None, None
        rows.append((str(name or "?"), str(status or "?"), str(result or "")))
    return rows


def status_class(status: str) -> str:
    """A CSS/colour bucket for a probe status: bad / warn / good / skip."""
    s = status.lower()
    if s.startswith(("fail", "error", "bad", "critical")):
        return "bad"
    if s.startswith("warn"):
        return "warn"
    if s.startswith(("ok", "pass", "good", "yes")):
        return "good"
    return "skip"


def packet_count(report: Report) -> int:
    packets: Any = report.extra("packets") or ()
    try:
        return len(packets)
    except TypeError:
        return 0


# C0 controls except tab, DEL, and C1 controls: an ESC in a peer's ID must not drive the terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def clean(text: str | None) -> str:
    if not text:
        return ""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text.replace("\t", "  "))


def truncate(text: str, width: int) -> str:
    """Cut a long line in the middle, keeping the start (prefix, conn, #N) and the end (the verdict)."""
    if len(text) <= width:
        return text
    cut = len(text) - width + 14
    keep_head = (width - 14) * 2 // 3
    return f"{text[:keep_head]} …[{cut} chars]… {text[keep_head + cut:]}"


def nonempty(items: Iterable[Any]) -> list[Any]:
    return [i for i in items if i]
