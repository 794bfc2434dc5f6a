"""ipsec.conf: read it the way pluto does and resolve one connection.

Reading (:func:`load_config`) follows ``include`` lines (globs allowed, relative to the
including file) and produces one combined text; parsing (:func:`parse_ipsec_conf`) and
resolving (:func:`resolve_conn`) are pure functions of that text, so a support bundle that
carries the combined text gives the same connection as the live host did.
"""
from __future__ import annotations

import glob
import ipaddress
import json
import os
import re
from dataclasses import asdict, dataclass
from ..compat import SLOTS

from ..errors import SwandocError

INCLUDE_DEPTH = 10
# All included files together: far above any real setup (hundreds of conns), far below what
# would hurt. A glob that matches a log directory or a huge file stops here, not in memory.
MAX_CONFIG_BYTES = 16 * 1024 * 1024
_MARK = "# swandoc: from "


@dataclass(frozen=True, **SLOTS)
class ConfigFile:
    """``config setup`` options and every ``conn`` section as written (before also=/%default)."""

    setup: tuple[tuple[str, str], ...]
    conns: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]

    def setup_value(self, key: str, default: str | None = None) -> str | None:
        return dict(self.setup).get(key, default)

    def conn_names(self) -> list[str]:
        return [name for name, _ in self.conns if name != "%default"]

    def section(self, name: str) -> dict[str, str] | None:
        for conn_name, options in self.conns:
            if conn_name == name:
                return dict(options)
        return None


@dataclass(frozen=True, **SLOTS)
class Connection:
    """One conn, resolved (``%default`` and ``also=`` applied), seen from this host."""

    name: str
    left: str | None
    right: str | None
    leftsubnets: tuple[str, ...] = ()
    rightsubnets: tuple[str, ...] = ()
    leftid: str | None = None
    rightid: str | None = None
    authby: str | None = None
    ike: str | None = None
    esp: str | None = None
    ike_version: int = 2
    encapsulation: str | None = None  # yes / no / auto (NAT-T)
    enable_tcp: str | None = None  # no / yes / fallback (RFC 8229)
    tcp_remoteport: int | None = None
    listen_tcp: bool = False
    mtu: int | None = None
    type: str = "tunnel"
    auto: str | None = None
    ikev1_policy: str | None = None
    logfile: str | None = None
    local_side: str = "left"  # which of left/right is this host
    options: tuple[tuple[str, str], ...] = ()

    @property
    def local(self) -> str | None:
        return self.left if self.local_side == "left" else self.right

    @property
    def remote(self) -> str | None:
        return self.right if self.local_side == "left" else self.left

    @property
    def local_subnets(self) -> tuple[str, ...]:
        return self.leftsubnets if self.local_side == "left" else self.rightsubnets

    @property
    def remote_subnets(self) -> tuple[str, ...]:
        return self.rightsubnets if self.local_side == "left" else self.leftsubnets

    @property
    def is_subnet_tunnel(self) -> bool:
        """True when it protects networks behind the gateways (traffic is forwarded)."""
        return bool(self.local_subnets or self.remote_subnets) and self.type == "tunnel"

    @property
    def uses_tcp(self) -> bool:
        return self.listen_tcp or (self.enable_tcp or "no") in ("yes", "fallback")

    def remote_address(self) -> str | None:
        """The peer's address if it is a literal IP (not %any, a hostname, ...)."""
        return literal_ip(self.remote)

    def local_address(self) -> str | None:
        return literal_ip(self.local)

    def to_json(self) -> str:
        data = asdict(self)
        data["options"] = dict(self.options)
        return json.dumps(data, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Connection":
        data = json.loads(text)
        known = set(cls.__dataclass_fields__)
        data = {k: v for k, v in data.items() if k in known}
        for key in ("leftsubnets", "rightsubnets"):
            data[key] = tuple(data.get(key) or ())
        data["options"] = tuple(sorted((data.get("options") or {}).items()))
        return cls(**data)


def literal_ip(value: str | None) -> str | None:
    """*value* as a normalised IP address, or None when it is not one (a host name, %any, empty).

    >>> literal_ip("2001:DB8::0001"), literal_ip("%any")
    ('2001:db8::1', None)
    """
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------- reading

def load_config(path: str) -> str:
    """The config at *path* with every ``include`` expanded in place (one combined text).

    Each included file is introduced by a ``# swandoc: from PATH`` comment so a person
    reading a bundle can see where each part came from. Each file is included once, however
    many include lines match it (pluto's own ``include ipsec.d/*.conf`` from a file in
    ipsec.d/ would otherwise include itself at every level).
    """
    try:
        return _Expander().expand(path, 0)
    except FileNotFoundError:
        raise SwandocError(f"cannot read {path}: no such file (give the config with --config)") from None
    except PermissionError:
        raise SwandocError(f"cannot read {path}: permission denied (run as root)") from None
    except IsADirectoryError:
        raise SwandocError(f"cannot read {path}: it is a directory") from None
    except OSError as exc:  # ELOOP, EIO, ENAMETOOLONG ...
        raise SwandocError(f"cannot read {path}: {exc.strerror or exc}") from None


class _Expander:
    """One include expansion: the files already taken in and the bytes read so far."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.size = 0

    def expand(self, path: str, depth: int) -> str:
        self.seen.add(os.path.realpath(path))
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read(MAX_CONFIG_BYTES - self.size + 1)
        self.size += len(text)
        if self.size > MAX_CONFIG_BYTES:
            raise SwandocError(f"the config with its includes is over {MAX_CONFIG_BYTES // (1024 * 1024)} MiB "
                               f"(at {path}); is an include pattern too wide?")
        out = [f"{_MARK}{path}"]
        for line in text.splitlines():
            match = re.match(r"^include\s+(\S+)", line)
            if not match:
                out.append(line)
                continue
            pattern = match.group(1)
            if not os.path.isabs(pattern):
                pattern = os.path.join(os.path.dirname(path), pattern)
            out.append(f"# swandoc: {line.strip()}")
            if depth >= INCLUDE_DEPTH:
                out.append("# swandoc: include nesting too deep, not followed")
                continue
            for included in sorted(glob.glob(pattern)):
                if os.path.realpath(included) in self.seen:
                    out.append(f"# swandoc: {included} already included, not repeated")
                    continue
                try:
                    out.append(self.expand(included, depth + 1))
                except OSError as exc:
                    out.append(f"# swandoc: cannot read {included}: {exc.strerror or exc}")
        return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------- parsing

def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    # An unquoted value ends at a comment.
    return value.split("#", 1)[0].strip()


def parse_ipsec_conf(text: str) -> ConfigFile:
    """Sections and their options; includes must already be expanded.

    >>> cfg = parse_ipsec_conf('''
    ... config setup
    ...     logfile=/var/log/pluto.log   # comment
    ... conn %default
    ...     ike=aes256-sha2
    ... conn west-east
    ...     also=common
    ...     left=192.0.2.1
    ...     leftid="@west id"
    ... ''')
    >>> cfg.setup_value("logfile"), cfg.conn_names(), cfg.section("west-east")["leftid"]
    ('/var/log/pluto.log', ['west-east'], '@west id')
    """
    setup: list[tuple[str, str]] = []
    conns: list[tuple[str, list[tuple[str, str]]]] = []
    current: list[tuple[str, str]] | None = None
    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if not raw[0].isspace():
            words = raw.split("#", 1)[0].split()
            if not words:
                continue
            if words[0] == "config" and len(words) > 1 and words[1] == "setup":
                current = setup
            elif words[0] == "conn" and len(words) > 1:
                current = []
                conns.append((words[1], current))
            elif words[0] == "version":
                continue
            else:
                current = None  # include lines, unknown sections: nothing to keep
            continue
        if current is None or "=" not in raw:
            continue
        key, value = raw.strip().split("=", 1)
        current.append((key.strip(), _unquote(value)))
    return ConfigFile(tuple(setup), tuple((name, tuple(opts)) for name, opts in conns))


def _merged_options(cfg: ConfigFile, name: str) -> dict[str, str]:
    """Options of *name* with also= chains and %default applied (own values win)."""
    result: dict[str, str] = {}

    def visit(section: str, seen: tuple[str, ...]) -> None:
        if section in seen:
            return
        opts = cfg.section(section)
        if opts is None:
            return
        for key, value in _ordered(cfg, section):
            if key == "also":
                for other in value.split():
                    visit(other, seen + (section,))
            else:
                result.setdefault(key, value)

    visit(name, ())
    for key, value in (cfg.section("%default") or {}).items():
        result.setdefault(key, value)
    return result


def _ordered(cfg: ConfigFile, name: str) -> tuple[tuple[str, str], ...]:
    for conn_name, options in cfg.conns:
        if conn_name == name:
            # Own (non-also) options first, so they win over anything pulled in by also=.
            own = tuple(o for o in options if o[0] != "also")
            also = tuple(o for o in options if o[0] == "also")
            return own + also
    return ()


def _subnets(single: str | None, multiple: str | None) -> tuple[str, ...]:
    if multiple:
        return tuple(s for s in re.split(r"[\s,{}]+", multiple) if s)
    if single:
        return tuple(s.strip() for s in single.split(",") if s.strip())
    return ()


def _yes(value: str | None) -> bool:
    return (value or "").lower() in ("yes", "true", "1")


def _ike_version(opts: dict[str, str]) -> int:
    keyexchange = opts.get("keyexchange", "").lower()
    if keyexchange == "ikev1":
        return 1
    if keyexchange == "ikev2":
        return 2
    # Libreswan 4: ikev2=no|never means IKEv1; anything else (yes, insist, propose, permit) IKEv2.
    return 1 if opts.get("ikev2", "yes").lower() in ("no", "never") else 2


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def resolve_conn(cfg: ConfigFile, name: str, local_addresses: frozenset[str] = frozenset()) -> Connection:
    """Resolve conn *name*; which side is local is decided from this host's addresses.

    >>> cfg = parse_ipsec_conf('''
    ... conn %default
    ...     esp=aes_gcm256
    ... conn base
    ...     leftsubnet=10.0.1.0/24
    ... conn vpn
    ...     also=base
    ...     left=192.0.2.1
    ...     right=198.51.100.2
    ...     rightsubnets={10.0.2.0/24 10.0.3.0/24}
    ... ''')
    >>> c = resolve_conn(cfg, "vpn", frozenset({"198.51.100.2"}))
    >>> c.local_side, c.local_subnets, c.remote_subnets, c.esp
    ('right', ('10.0.2.0/24', '10.0.3.0/24'), ('10.0.1.0/24',), 'aes_gcm256')
    """
    if cfg.section(name) is None or name == "%default":
        names = cfg.conn_names()
        listed = ", ".join(names) if names else "none"
        raise SwandocError(f"connection {name!r} is not in the configuration; conns defined: {listed}")
    opts = _merged_options(cfg, name)
    left, right = opts.get("left"), opts.get("right")
    local_side = "left"
    if right and (right in local_addresses or right == "%defaultroute") and left not in local_addresses:
        local_side = "right"
    return Connection(
        name=name,
        left=left,
        right=right,
        leftsubnets=_subnets(opts.get("leftsubnet"), opts.get("leftsubnets")),
        rightsubnets=_subnets(opts.get("rightsubnet"), opts.get("rightsubnets")),
        leftid=opts.get("leftid"),
        rightid=opts.get("rightid"),
        authby=opts.get("authby"),
        ike=opts.get("ike"),
        esp=opts.get("esp") or opts.get("phase2alg"),
        ike_version=_ike_version(opts),
        encapsulation=opts.get("encapsulation"),
        enable_tcp=opts.get("enable-tcp"),
        tcp_remoteport=_int(opts.get("tcp-remoteport")),
        listen_tcp=_yes(cfg.setup_value("listen-tcp")),
        mtu=_int(opts.get("mtu")),
        type=opts.get("type", "tunnel"),
        auto=opts.get("auto"),
        ikev1_policy=cfg.setup_value("ikev1-policy"),
        logfile=cfg.setup_value("logfile"),
        local_side=local_side,
        options=tuple(sorted(opts.items())),
    )
