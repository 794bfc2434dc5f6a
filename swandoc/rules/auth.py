"""Log rules: the ends do not prove who they are (IKEv2 AUTH, IKEv1 PSK hash, missing secrets)."""

from __future__ import annotations

from ..facts import Facts
from .registry import rule
from .knowledge import REF_MISMATCH, UP_TO_4, V5, finding, topic
from .support import IKEV1_AUTH_STAGES, lines_of, retransmits

# Knowledge: what each id means and what to do (the project's own words).

topic("authentication-failed", "error", "IKEv2 authentication failed", "both", """
    The IKE_AUTH exchange was rejected with AUTHENTICATION_FAILED. With a pre-shared key this almost
    always means the two ends have different PSKs or one end presents an ID the other does not
    expect; with certificates or raw RSA keys, the peer's key, certificate chain or ID did not
    verify.""", [
    "PSK: make the secret identical in /etc/ipsec.secrets (or /etc/ipsec.d/*.secrets) on both ends, "
    "e.g. @west @east : PSK \"same secret\"",
    ("Reload the secrets on both ends: ipsec auto --rereadsecrets", UP_TO_4),
    ("Reload the secrets on both ends: ipsec rereadsecrets", V5),
    "IDs: leftid=/rightid= must match what the other end expects (compare the IDs in the evidence)",
    "Certificates: check the chain with certutil -L -d sql:/var/lib/ipsec/nss and that the peer's CA is "
    "trusted (certutil -M -n CA -t CT,, ...)",
], REF_MISMATCH, 87)

topic("ikev1-psk-mismatch", "error", "IKEv1 pre-shared keys differ", "both", """
    In IKEv1 the first encrypted message is protected with a key derived from the PSK. When the two
    PSKs differ the peer cannot read it: one side reports a hash mismatch or a malformed payload
    ("probable authentication failure"), the other retransmits in Main Mode I3 / Aggressive Mode
    and finally gives up.""", [
    "Put the same PSK for this peer in ipsec.secrets on both ends",
    ("Reload the secrets on both ends: ipsec auto --rereadsecrets", UP_TO_4),
    ("Reload the secrets on both ends: ipsec rereadsecrets", V5),
    "Check that the IDs in the secrets line match the conn's leftid/rightid (or the IP addresses)",
    "Consider moving to IKEv2, which reports AUTHENTICATION_FAILED explicitly",
], REF_MISMATCH, 87)

topic("secret-not-found", "error", "No secret or key found for this ID pair", "local", """
    pluto could not find a pre-shared key, private key or peer public key for the IDs in use: the
    ipsec.secrets entry is missing, names different IDs than the conn's leftid/rightid, or the
    private key / certificate is not in the NSS database.""", [
    "Check that an entry matches both IDs exactly: @left-id @right-id : PSK \"...\" (or the IP "
    "addresses when no leftid/rightid is set)",
    ("Reload secrets: ipsec auto --rereadsecrets", UP_TO_4),
    ("Reload secrets: ipsec rereadsecrets", V5),
    "For RSA/certificates: certutil -K -d sql:/var/lib/ipsec/nss lists the private keys pluto can use",
], REF_MISMATCH, 93)


@rule
def authentication(facts: Facts):
    for c in facts.connections():
        rejected = c.notified("notify_received", "AUTHENTICATION_FAILED")
        sent = c.notified("notify_sent", "AUTHENTICATION_FAILED")
        local = c.get("auth_failed")
        if rejected or sent or local:
            extra = None
            if local and local.values:
                extra = f"This end's check: {next(iter(local.values))}."
            yield finding("authentication-failed", c.name, lines_of(local, *rejected, *sent), extra=extra,
                          side="both")
        hash_bad = c.get("hash_mismatch")
        invalid_hash = c.notified("notify_sent", "INVALID_HASH_INFORMATION") + \
            c.notified("notify_received", "INVALID_HASH_INFORMATION")
        stuck = [s for s in retransmits(c, IKEV1_AUTH_STAGES)]
        if hash_bad or invalid_hash or (stuck and not c.has("ike_established")):
            yield finding("ikev1-psk-mismatch", c.name, lines_of(hash_bad, *invalid_hash, *stuck),
                          rank=87 if (hash_bad or invalid_hash) else 75)


@rule
def secrets(facts: Facts):
    for c in facts.connections():
        s = c.get("secret_missing")
        if s:
            yield finding("secret-not-found", c.name, lines_of(s),
                          extra=f"pluto said: {next(iter(s.values))}." if s.values else None)
