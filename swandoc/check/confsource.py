"""ipsec.conf read with the file and line of every option, for findings that point at lines.

:mod:`swandoc.probes.config` resolves a connection from one combined text (what a bundle
carries); ``check`` needs more: each value's file:line as evidence, and the lines pluto's
parser would refuse. Reading follows the same include rules (globs relative to the including
file, each file once, a total size cap); parsing (:func:`parse_lines`) is pure.
"""
from __future__ import annotations

import fnmatch
import glob
import os
import re
from dataclasses import dataclass

from ..compat import SLOTS
from ..errors import SwandocError
from ..model import EvidenceLine
from ..probes.config import INCLUDE_DEPTH, MAX_CONFIG_BYTES

CRYPTO_POLICY_INCLUDE = "/etc/crypto-policies/back-ends/libreswan.config"


@dataclass(frozen=True, **SLOTS)
class Option:
    key: str
    value: str
    where: EvidenceLine


@dataclass(frozen=True, **SLOTS)
class Section:
    kind: str  # "setup" or "conn"
    name: str
    where: EvidenceLine
    options: tuple[Option, ...]

    def get(self, key: str) -> Option | None:
        for option in self.options:
            if option.key == key:
                return option
        return None


@dataclass(frozen=True, **SLOTS)
class Include:
    pattern: str
    where: EvidenceLine
    matched: int  # files read for it (0: the pattern matched nothing readable)


@dataclass(frozen=True, **SLOTS)
class ConfigDoc:
    """One ipsec.conf with its includes: sections, include lines, and lines pluto would refuse."""

    path: str
    sections: tuple[Section, ...]
    includes: tuple[Include, ...]
    problems: tuple[tuple[EvidenceLine, str], ...]
    # "#include /etc/crypto-policies/back-ends/libreswan.config": the policy switched off by hand (§4.12)
    disabled_policy: tuple[EvidenceLine, ...] = ()

    @property
    def setup(self) -> Section | None:
        for section in self.sections:
            if section.kind == "setup":
                return section
        return None

    def setup_value(self, key: str) -> str | None:
        option = self.setup.get(key) if self.setup else None
        return option.value if option else None

    def conn(self, name: str) -> Section | None:
        for section in self.sections:
            if section.kind == "conn" and section.name == name:
                return section
        return None

    def conn_names(self) -> list[str]:
        return [s.name for s in self.sections if s.kind == "conn" and s.name != "%default"]

    def includes_crypto_policy(self) -> Include | None:
        for include in self.includes:
            if "crypto-policies" in include.pattern and include.pattern.endswith("libreswan.config"):
                return include
        return None


# ---------------------------------------------------------------------------------------- reading

def read_config(path: str) -> ConfigDoc:
    """Read *path* and its includes; a top file that cannot be read is a SwandocError (exit 2)."""
    lines: list[EvidenceLine] = []
    includes: list[Include] = []
    problems: list[tuple[EvidenceLine, str]] = []
    try:
        _Reader(lines, includes, problems).read(path, 0)
    except FileNotFoundError:
        raise SwandocError(f"cannot read {path}: no such file") from None
    except PermissionError:
        raise SwandocError(f"cannot read {path}: permission denied") from None
    except IsADirectoryError:
        raise SwandocError(f"cannot read {path}: it is a directory") from None
    except UnicodeDecodeError:
        raise SwandocError(f"cannot read {path}: not a text file") from None
    except OSError as exc:
        raise SwandocError(f"cannot read {path}: {exc.strerror or exc}") from None
    sections, more = parse_lines(lines)
    return ConfigDoc(path, sections, tuple(includes), tuple(problems) + more, _disabled_policy(lines))


_DISABLED_POLICY = re.compile(r"^\s*#+\s*include\s+\S*crypto-policies/\S*libreswan\.config\s*$")


def _disabled_policy(lines: list[EvidenceLine]) -> tuple[EvidenceLine, ...]:
    return tuple(w for w in lines if _DISABLED_POLICY.match(w.text))


class _Reader:
    def __init__(self, lines, includes, problems) -> None:
        self.lines, self.includes, self.problems = lines, includes, problems
        self.seen: set[str] = set()
        self.size = 0

    def read(self, path: str, depth: int) -> None:
        self.seen.add(os.path.realpath(path))
        with open(path, encoding="utf-8") as fh:
            text = fh.read(MAX_CONFIG_BYTES - self.size + 1)
        self.size += len(text)
        if self.size > MAX_CONFIG_BYTES:
            raise SwandocError(f"the config with its includes is over {MAX_CONFIG_BYTES // (1024 * 1024)} MiB "
                               f"(at {path}); is an include pattern too wide?")
        for number, raw in enumerate(text.splitlines(), 1):
            where = EvidenceLine(path, number, raw)
            match = re.match(r"^include\s+(\S+)\s*(?:#.*)?$", raw)
            if not match:
                self.lines.append(where)
                continue
            self._include(match.group(1), path, where, depth)

    def _include(self, pattern: str, parent: str, where: EvidenceLine, depth: int) -> None:
        full = pattern if os.path.isabs(pattern) else os.path.join(os.path.dirname(parent), pattern)
        matched = 0
        if depth >= INCLUDE_DEPTH:
            self.problems.append((where, "include nesting deeper than 10 levels: not followed"))
        else:
            for included in sorted(glob.glob(full)):
                if os.path.realpath(included) in self.seen:
                    matched += 1
                    continue
                try:
                    self.read(included, depth + 1)
                    matched += 1
                except (OSError, UnicodeDecodeError) as exc:
                    self.problems.append((where, f"cannot read included {included}: "
                                                 f"{getattr(exc, 'strerror', None) or exc}"))
        self.includes.append(Include(pattern, where, matched))


def from_combined_text(text: str, label: str, host: str | None = None) -> ConfigDoc:
    """A ConfigDoc from the combined text :func:`swandoc.probes.config.load_config` writes (what a
    bundle's ``ipsec_conf`` item holds): lines are cited as lines of that item.

    >>> doc = from_combined_text("# swandoc: from /etc/ipsec.conf\\n# swandoc: include /etc/crypto-policies/"
    ...     "back-ends/libreswan.config\\nconn a\\n  ike=aes_gcm-sha2\\n", "config/ipsec.conf")
    >>> doc.includes_crypto_policy().matched, doc.conn("a").get("ike").where.line
    (0, 4)
    """
    lines = [EvidenceLine(label, n, raw, host) for n, raw in enumerate(text.splitlines(), 1)]
    read = {m.group(1) for m in re.finditer(r"^# swandoc: from (\S+)", text, re.M)}
    includes = []
    for where in lines:
        m = re.match(r"^# swandoc: include\s+(\S+)", where.text)
        if m:
            pattern = m.group(1)
            matched = sum(1 for path in read if fnmatch.fnmatch(path, pattern) or path == pattern)
            includes.append(Include(pattern, where, matched))
    sections, problems = parse_lines(lines)
    return ConfigDoc(label, sections, tuple(includes), problems, _disabled_policy(lines))


# ---------------------------------------------------------------------------------------- parsing

def _value(raw: str) -> tuple[str, str | None]:
    """(value, problem) of the text after ``=``: quotes removed, a trailing comment dropped."""
    raw = raw.strip()
    if raw.startswith('"'):
        end = raw.find('"', 1)
        if end < 0:
            return raw[1:], "unterminated quoted value"
        rest = raw[end + 1:].strip()
        if rest and not rest.startswith("#"):
            return raw[1:end], f"text after the closing quote: {rest!r}"
        return raw[1:end], None
    value = raw.split("#", 1)[0].strip()
    if re.search(r"\s", value) and not (value.startswith("{") and value.endswith("}")):
        # pluto's lexer ends an unquoted value at white space; the rest is read as a new keyword
        return value, "a value with spaces must be quoted"
    return value, None


def parse_lines(lines: list[EvidenceLine]) -> tuple[tuple[Section, ...], tuple[tuple[EvidenceLine, str], ...]]:
    """Sections and the lines pluto's parser would refuse, from (file, line, text) records.

    >>> ls = [EvidenceLine("a.conf", n, t) for n, t in enumerate([
    ...     "config setup", "  logfile=/tmp/x", "conn vpn", "\\tleft=192.0.2.1 # gw",
    ...     "\\tright", "  conn other", 'leftid="@x'], 1)]
    >>> sections, problems = parse_lines(ls)
    >>> [(s.kind, s.name, [(o.key, o.value, o.where.line) for o in s.options]) for s in sections]
    [('setup', 'setup', [('logfile', '/tmp/x', 2)]), ('conn', 'vpn', [('left', '192.0.2.1', 4)])]
    >>> [(w.line, why) for w, why in problems]
    [(5, 'an option line without "="'), (6, 'an option line without "="'), (7, 'a line outside any section (not indented)')]
    """
    sections: list[Section] = []
    problems: list[tuple[EvidenceLine, str]] = []
    header: tuple[str, str, EvidenceLine] | None = None
    options: list[Option] = []

    def close() -> None:
        if header is not None:
            sections.append(Section(header[0], header[1], header[2], tuple(options)))

    for where in lines:
        raw = where.text
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not raw[0].isspace():
            words = raw.split("#", 1)[0].split()
            close()
            header, options = None, []
            if words[:2] == ["config", "setup"] and len(words) == 2:
                header = ("setup", "setup", where)
            elif words[0] == "conn" and len(words) == 2:
                header = ("conn", words[1], where)
            elif words[0] == "version" and len(words) == 2:
                pass
            elif words[0] in ("conn", "config"):
                problems.append((where, "a section line must be 'conn NAME' or 'config setup'"))
            else:
                problems.append((where, "a line outside any section (not indented)"))
            continue
        if "=" not in stripped:
            problems.append((where, 'an option line without "="'))
            continue
        key, raw_value = stripped.split("=", 1)
        key = key.strip()
        if header is None:
            problems.append((where, "an option before any 'conn' or 'config setup' line"))
            continue
        if not re.fullmatch(r"[A-Za-z0-9_-]+", key):
            problems.append((where, f"not a keyword: {key!r}"))
            continue
        value, problem = _value(raw_value)
        if problem:
            problems.append((where, problem))
        if key != "also" and any(o.key == key for o in options):  # several also= lines are fine
            problems.append((where, f"{key}= given twice in the same section"))
            continue
        options.append(Option(key, value, where))
    close()
    return tuple(sections), tuple(problems)
