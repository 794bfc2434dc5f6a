"""The project's own docs stay true."""
import os
import re

from swandoc.rules.catalogue import catalogue_markdown

from .conftest import ROOT


def test_findings_catalogue_is_current():
    with open(os.path.join(ROOT, "docs", "findings.md"), encoding="utf-8") as fh:
        assert fh.read() == catalogue_markdown(), "regenerate: python -m swandoc.rules.catalogue > docs/findings.md"


def test_issue_finding_ids_exist():
    """The ids the product promises (README, issues) are all in the knowledge base."""
    promised = ["ike-no-response", "peer-unreachable", "ike-proposal-mismatch", "child-proposal-mismatch",
                "ts-unacceptable", "authentication-failed", "ikev1-psk-mismatch", "secret-not-found",
                "large-packets-dropped", "ikev1-disabled", "ike-version-mismatch", "connection-not-loaded",
                "kernel-sa-install-failed", "dpd-peer-dead", "tunnel-up", "nat-t-blocked",
                "local-firewall-blocks-ike", "nat-masquerade-before-ipsec", "mtu-too-small", "mss-not-clamped",
                "xfrm-errors", "pluto-not-running", "esp-one-way",
                # swandoc check (issue 12)
                "weak-psk", "ppk-not-configured", "ikev1-gcm-ike", "algorithm-not-allowed", "tcp-encap-one-sided",
                "nic-offload-unsupported", "config-syntax-error", "obsolete-option", "crypto-policy-not-included"]
    text = catalogue_markdown()
    assert not [i for i in promised if f"`{i}`" not in text]


def test_readme_starts_with_the_two_commands():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as fh:
        readme = fh.read()
    commands = re.findall(r"^(bash scripts/setup-debian.*)$", readme, re.M)
    assert len(commands) >= 2
    with open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8") as fh:
        ci = fh.read()
    assert commands[1] in ci, "CI must run the README's test command"
    for path in re.findall(r"(fixtures/\S+\.log)", commands[0]):
        assert os.path.exists(os.path.join(ROOT, path))
