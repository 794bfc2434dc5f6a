"""One conn as pluto would load it, every value with the line it came from.

Precedence follows Libreswan: the conn's own lines, then ``also=`` sections (depth first, in
order), then ``conn %default`` (a later %default section wins over an earlier one, so an admin's
%default overrides the crypto-policy include above it). When the crypto-policy include is
present but its file is not on this machine (a RHEL config checked elsewhere), the DEFAULT policy's
proposals stand in for it and the report says so.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..model import EvidenceLine
from . import algorithms as alg
from .confsource import ConfigDoc, Option
from ..probes.config import literal_ip


@dataclass(frozen=True)
class ConnView:
    name: str
    doc: ConfigDoc
    options: dict[str, Option]
    version: int = 4  # Libreswan major version whose defaults apply
    policy: str | None = None  # crypto policy assumed for a missing include file
    fips: bool = False
    problems: tuple[tuple[EvidenceLine, str], ...] = field(default=())

    # ------------------------------------------------------------------ plain values
    def opt(self, key: str) -> Option | None:
        return self.options.get(key)

    def value(self, key: str, default: str | None = None) -> str | None:
        option = self.options.get(key)
        return option.value if option else default

    def where(self, *keys: str) -> tuple[EvidenceLine, ...]:
        """Evidence for *keys*: their lines, or the conn line when none is set."""
        lines = tuple(self.options[k].where for k in keys if k in self.options)
        return lines or (self.header,)

    @property
    def header(self) -> EvidenceLine:
        section = self.doc.conn(self.name)
        return section.where if section else EvidenceLine(self.doc.path, None, f"conn {self.name}")

    def setup(self, key: str) -> Option | None:
        return self.doc.setup.get(key) if self.doc.setup else None

    # ------------------------------------------------------------------ meaning
    @property
    def ike_version(self) -> int:
        keyexchange = (self.value("keyexchange") or "").lower()
        if keyexchange == "ikev1":
            return 1
        if keyexchange in ("ikev2", "ike"):
            return 2
        return 1 if (self.value("ikev2") or "yes").lower() in ("no", "never") else 2

    @property
    def ike_version_key(self) -> str:
        return "keyexchange" if "keyexchange" in self.options else "ikev2"

    @property
    def ikev1_policy(self) -> str:
        option = self.setup("ikev1-policy")
        # Libreswan 4.x and 5.x (server.c) drop IKEv1 unless config setup accepts it.
        return option.value.lower() if option else "drop"

    def authby(self, side: str) -> str:
        """The auth method *side* (left/right) proves itself with: secret, rsasig, ecdsa, null, eaponly ..."""
        own = self.value(f"{side}auth")
        if own:
            return {"rsa": "rsasig", "psk": "secret"}.get(own.lower(), own.lower())
        authby = (self.value("authby") or "").lower().split(",")[0].strip()
        if not authby:
            return "rsasig" if self.value(f"{side}cert") or self.value(f"{side}rsasigkey") else "secret-or-rsasig"
        return {"rsa-sha2": "rsasig", "rsa-sha1": "rsasig", "rsa": "rsasig", "psk": "secret",
                "rsa-sha2_256": "rsasig", "rsa-sha2_384": "rsasig", "rsa-sha2_512": "rsasig",
                "ecdsa-sha2": "ecdsa"}.get(authby, authby)

    def host(self, side: str) -> str | None:
        return self.value(side)

    def id(self, side: str) -> str | None:
        """The ID *side* uses: its id= or, by default, its address (pluto's own default)."""
        value = self.value(f"{side}id")
        if value:
            return value
        if self.value(f"{side}cert"):
            return "%fromcert"
        return literal_ip(self.host(side))

    def subnets(self, side: str) -> tuple[str, ...]:
        many = self.value(f"{side}subnets")
        if many:
            return tuple(s for s in many.replace("{", " ").replace("}", " ").replace(",", " ").split() if s)
        one = self.value(f"{side}subnet")
        if one:
            return tuple(s.strip() for s in one.split(",") if s.strip())
        return ()

    def selectors(self, side: str) -> tuple[str, ...]:
        """What *side* puts in its traffic selector: its subnets, or its own address as a /32 or /128."""
        subnets = self.subnets(side)
        if subnets:
            return subnets
        ip = literal_ip(self.host(side))
        return (ip,) if ip else ()

    @property
    def narrowing(self) -> bool:
        return (self.value("narrowing") or "no").lower() in ("yes", "true")

    @property
    def pfs(self) -> bool:
        return (self.value("pfs") or "yes").lower() not in ("no", "false")

    def proposals(self, kind: str) -> tuple[alg.Proposal, ...]:
        key = "esp" if kind == "esp" else "ike"
        line = self.value(key) or (self.value("phase2alg") if kind == "esp" else None)
        if line:
            return alg.parse_line(line, kind, self.version, self.ike_version).proposals
        if self.policy and self.ike_version == 2:
            return alg.CRYPTO_POLICIES[self.policy][kind]
        return alg.default_proposals(self.version, kind, self.ike_version)

    def accepts_any(self, kind: str) -> bool:
        """An IKEv1 responder with no ike=/esp= line (and no policy) accepts any algorithm pluto knows:
        Libreswan's IKEv1 code verifies "unconditionally" when the conn has no proposals of its own
        (ikev1_spdb_struct.c, 4.x and 5.x); the IKEv2 defaults, by contrast, do constrain."""
        return self.ike_version == 1 and self.proposal_line(kind) is None and not self.policy

    def proposal_line(self, kind: str) -> Option | None:
        return self.opt("esp") or self.opt("phase2alg") if kind == "esp" else self.opt("ike")

    def proposal_text(self, kind: str) -> str:
        option = self.proposal_line(kind)
        if option:
            return option.value
        if self.policy and self.ike_version == 2:
            return f"crypto-policy {self.policy} default"
        return f"Libreswan {self.version}.x default for IKEv{self.ike_version}"

    @property
    def enable_tcp(self) -> str:
        return (self.value("enable-tcp") or "no").lower()

    @property
    def tcp_remoteport(self) -> int:
        try:
            return int(self.value("tcp-remoteport") or 4500)
        except ValueError:
            return 4500

    @property
    def listen_tcp(self) -> bool:
        option = self.setup("listen-tcp")
        return bool(option and option.value.lower() in ("yes", "true"))



def resolve(doc: ConfigDoc, name: str, *, version: int = 4, fips: bool = False) -> ConnView:
    """Conn *name* of *doc* with also= and %default applied (see module docstring)."""
    merged: dict[str, Option] = {}
    problems: list[tuple[EvidenceLine, str]] = []

    def visit(section_name: str, chain: tuple[str, ...]) -> None:
        section = doc.conn(section_name)
        if section is None:
            return
        if section_name in chain:
            problems.append((section.where, f"also={section_name} loops back to itself"))
            return
        for option in section.options:
            if option.key != "also":
                merged.setdefault(option.key, option)
        for option in section.options:
            if option.key == "also":
                for other in option.value.split():
                    if doc.conn(other) is None:
                        problems.append((option.where, f"also={other}: no conn {other} in the configuration"))
                    visit(other, chain + (section_name,))

    visit(name, ())
    for section in reversed([s for s in doc.sections if s.kind == "conn" and s.name == "%default"]):
        for option in section.options:
            merged.setdefault(option.key, option)
    include = doc.includes_crypto_policy()
    policy = None
    if include is not None and include.matched == 0:
        policy = "FIPS" if fips else "DEFAULT"
    return ConnView(name, doc, merged, version=version, policy=policy, fips=fips, problems=tuple(problems))


def orientation(a: ConnView, b: ConnView) -> dict[str, str]:
    """Which side of *b* is each side of *a* ({"left": "left", "right": "right"} or flipped).

    Decided by what both configs say of each side: addresses, IDs, subnets.
    """
    def score(mapping: dict[str, str]) -> int:
        points = 0
        for mine, theirs in mapping.items():
            for key in ("", "id", "subnet", "subnets", "cert"):
                x, y = a.value(mine + key), b.value(theirs + key)
                if x and y and x not in ("%any", "%defaultroute") and x == y:
                    points += 1
        return points

    same = {"left": "left", "right": "right"}
    flipped = {"left": "right", "right": "left"}
    return flipped if score(flipped) > score(same) else same
