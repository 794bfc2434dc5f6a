"""A lab plan: everything needed to run two daemons against each other, as data.

Scenarios from the table and user-supplied configs are both compiled into a Plan;
the runner only ever executes Plans.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import topology as topo_mod
from .scenarios import BASE_CONN, CONN_NAME, Fault, Scenario

SECRETS_NOTE = ("# swandoc lab: throwaway secrets made for this lab run only; they exist nowhere else.\n")


@dataclass(frozen=True)
class Plan:
    name: str
    description: str
    topology: str
    conn_name: str
    west_conn: dict[str, str]
    east_conn: dict[str, str]
    west_secrets: str
    east_secrets: str
    west_setup: dict[str, str] = field(default_factory=dict)
    east_setup: dict[str, str] = field(default_factory=dict)
    auth: str = "psk"
    subnets: bool = False
    faults: tuple[Fault, ...] = ()
    cert_bits: int = 2048
    expected: str | None = None
    expected_with_esp: str | None = None
    east_conn_name: str | None = None  # user configs may name the conn differently on east
    scenario: Scenario | None = None    # where the plan came from, for the expectations

    def conn_name_for(self, side: str) -> str:
        return (self.east_conn_name or self.conn_name) if side == "east" else self.conn_name

    @property
    def start_east(self) -> bool:
        return not any(f.kind == "no-responder" for f in self.faults)


def _quote(value: str) -> str:
    return f'"{value}"' if (" " in value or "," in value) and not value.startswith('"') else value


def render_conn(name: str, options: dict[str, str]) -> str:
    lines = [f"conn {name}"]
    lines += [f"\t{key}={_quote(value)}" for key, value in options.items() if value is not None]
    return "\n".join(lines) + "\n"


def _addresses(kind: str) -> dict[str, str]:
    """left/right as each side writes them. Behind NAT east accepts west from any address."""
    if kind == "plain":
        return {"west_left": topo_mod.WEST_PLAIN, "west_right": topo_mod.EAST_PLAIN,
                "east_left": topo_mod.WEST_PLAIN, "east_right": topo_mod.EAST_PLAIN}
    if kind == "router":
        return {"west_left": topo_mod.WEST_ROUTED, "west_right": topo_mod.EAST_ROUTED,
                "east_left": topo_mod.WEST_ROUTED, "east_right": topo_mod.EAST_ROUTED}
    return {"west_left": topo_mod.WEST_PRIVATE, "west_right": topo_mod.EAST_ROUTED,
            "east_left": "%any", "east_right": topo_mod.EAST_ROUTED}


# IDs equal to the certificates' subjectAltName, so pluto matches them without complaint.
X509_IDS = {"leftid": "@west.lab.example", "rightid": "@east.lab.example"}


def from_scenario(s: Scenario) -> Plan:
    addr = _addresses(s.topology)
    west = {"left": addr["west_left"], "right": addr["west_right"], **BASE_CONN}
    east = {"left": addr["east_left"], "right": addr["east_right"], **BASE_CONN}
    if s.subnets:
        for conn in (west, east):
            conn["leftsubnet"] = topo_mod.WEST_SUBNET
            conn["rightsubnet"] = topo_mod.EAST_SUBNET
        west["leftsourceip"] = topo_mod.WEST_SUBNET_HOST
        east["rightsourceip"] = topo_mod.EAST_SUBNET_HOST
    if s.auth in ("x509", "x509-untrusted"):
        for conn in (west, east):
            conn.update(X509_IDS, authby="rsasig", leftsendcert="always", rightsendcert="always")
        west["leftcert"] = "west"
        east["rightcert"] = "east"
    elif s.auth == "rsa-raw":
        for conn in (west, east):
            # filled in by the runner once the keys exist in the NSS databases
            conn.update(authby="rsasig", leftrsasigkey="{west_rsasigkey}", rightrsasigkey="{east_rsasigkey}")
    west.update(s.west)
    east.update(s.east)
    if s.auth == "psk":
        west_secrets = SECRETS_NOTE + f'{s.west_secrets_ids} : PSK "{s.west_psk}"\n'
        east_secrets = SECRETS_NOTE + f'{s.east_secrets_ids} : PSK "{s.east_psk}"\n'
    else:
        # private keys live in the NSS databases; nothing secret in the secrets file
        west_secrets = east_secrets = SECRETS_NOTE
    return Plan(
        name=s.name, description=s.description, topology=s.topology, conn_name=CONN_NAME,
        west_conn=west, east_conn=east, west_secrets=west_secrets, east_secrets=east_secrets,
        west_setup=dict(s.west_setup), east_setup=dict(s.east_setup), auth=s.auth,
        subnets=s.subnets, faults=s.faults, cert_bits=3072 if s.big_certs else 2048,
        expected=s.expected, expected_with_esp=s.expected_with_esp, scenario=s,
    )
