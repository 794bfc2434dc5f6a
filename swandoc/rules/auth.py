"""Log rules: the ends do not prove who they are (IKEv2 AUTH, IKEv1 PSK hash, missing secrets)."""

from __future__ import annotations

import re

from ..facts import Facts
from .registry import rule
from .knowledge import REF_AUTH, REF_MISMATCH, UP_TO_4, V5, finding, topic
from .support import IKEV1_AUTH_STAGES, is_ikev1, lines_of, retransmits

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


topic("ikev1-id-mismatch", "error", "The IKEv1 peer's ID is not the one this end expects", "both", """
    In IKEv1 Main or Aggressive Mode the peer identified itself with an ID (its ID payload) that the
    connection does not accept: a different value, a different ID type (an IP address where an @name
    is expected, or the reverse), or, very often, a peer behind NAT that declares its private address
    instead of the public one the conn names. The peer gets INVALID_ID_INFORMATION and phase 1 fails.""", [
    "Compare the ID the peer declares (in the evidence) with rightid= of this conn (left/right swapped on "
    "the other end); without rightid= the peer's ID must be its address as written in right=",
    "Peer behind NAT declaring its private address: set rightid= to that address (e.g. rightid=10.0.0.5), "
    "or make the peer send its public address or an FQDN (leftid=@name on the peer)",
    "Keep the ID type the same on both ends (@fqdn, address, or a certificate DN), and name the same IDs "
    "in the ipsec.secrets line of a PSK conn",
], REF_MISMATCH, 88)

topic("xauth-failed", "error", "IKEv1 XAUTH user authentication failed", "both", """
    Phase 1 succeeded, but the extended user authentication (XAUTH) that follows it did not: the
    username or password was wrong, the server could not read its password file, or PAM refused the
    user. Without XAUTH the remote-access client gets no Mode Config address and no tunnel.""", [
    "Client: check xauthusername= and the password (NetworkManager: the saved user password of the VPN "
    "connection)",
    "On a server with xauthby=file (the default), /etc/ipsec.d/passwd must exist with lines "
    "user:password-hash:conn-name; create the hash with openssl passwd -1",
    "On a server with xauthby=pam, test the account against the PAM service pluto uses (/etc/pam.d/pluto) "
    "and read the PAM messages in journalctl",
], REF_AUTH, 89)


# A secrets file that does not parse: pluto names the file and the line ('"/etc/ipsec.secrets" line 3: ...').
_SECRETS_LINE = re.compile(r'secrets[^"]*" line \d+: ')
_SECRETS_SYNTAX_FIX = ("The secrets file does not parse at the line shown, so no key from it was loaded: put the PSK "
                       "in double quotes, or write it in base64 form (0s followed by the base64 of the key) when it "
                       "holds quotes or other special characters; then ipsec whack --rereadsecrets")


@rule
def identities(facts: Facts):
    """IKEv1 ID checks; in IKEv2 the same refusal surfaces as AUTHENTICATION_FAILED (authentication)."""
    for c in facts.connections():
        mismatch = c.get("id_mismatch")
        # INVALID_ID_INFORMATION before the ISAKMP SA is up concerns phase 1 IDs; after it, Quick Mode selectors.
        invalid = [] if c.has("ike_established") else \
            c.notified("notify_received", "INVALID_ID_INFORMATION") + c.notified("notify_sent", "INVALID_ID_INFORMATION")
        if (mismatch and is_ikev1(c, mismatch)) or (invalid and is_ikev1(c)):
            said = next(iter(mismatch.values), None) if mismatch else None
            yield finding("ikev1-id-mismatch", c.name, lines_of(mismatch, *invalid)[:6],
                          extra=f"pluto said: {said}." if said else None)


@rule
def xauth(facts: Facts):
    for c in facts.connections():
        s = c.get("xauth_failed")
        if s:
            yield finding("xauth-failed", c.name, lines_of(s),
                          extra=f"pluto said: {next(iter(s.values))}." if s.values else None)


@rule
def authentication(facts: Facts):
    for c in facts.connections():
        rejected = c.notified("notify_received", "AUTHENTICATION_FAILED")
        sent = c.notified("notify_sent", "AUTHENTICATION_FAILED")
        local = c.get("auth_failed")
        v2_id = c.get("id_mismatch") if c.get("id_mismatch") and not is_ikev1(c, c.get("id_mismatch")) else None
        if v2_id and not local:
            local = v2_id  # IKEv2: the responder's ID check is its authentication check
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
            unparsable = any(_SECRETS_LINE.search(e.text) for e in s.lines())
            yield finding("secret-not-found", c.name, lines_of(s),
                          extra=f"pluto said: {next(iter(s.values))}." if s.values else None,
                          extra_fix=[_SECRETS_SYNTAX_FIX] if unparsable else ())
