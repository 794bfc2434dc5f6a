"""What each ``swandoc check`` finding means and how to fix it, as data (own words).

Findings that ``check`` predicts for two ends reuse the runtime ids and their topics
(``ike-proposal-mismatch`` ... in :mod:`swandoc.rules.logs`); only what is new is here.
"""
from __future__ import annotations

from ..rules.knowledge import DOC, REF_AUTH, REF_BASIC, REF_MISMATCH, REF_TCP, UP_TO_4, V5, topic

REF_FIPS = f"{DOC} §4.8 Deploying a FIPS-compliant IPsec VPN"
REF_NSS = f"{DOC} §4.9 Protecting the IPsec NSS database by a password"
REF_OFFLOAD = f"{DOC} §4.11 Configuring ESP hardware offload on a bond to accelerate an IPsec connection"
REF_POLICY = f"{DOC} §4.12 Configuring IPsec connections that opt out of the system-wide crypto policies"
REF_INSTALL = f"{DOC} §4.2 Installing Libreswan"

# ------------------------------------------------------------------------ configuration files

# config-syntax-error is one topic for the log (pluto refused the file) and for check (the line that
# will be refused): it lives in swandoc/rules/daemon.py.

topic("obsolete-option", "warning", "The configuration uses an option this Libreswan ignores or renamed", "local", """
    The keyword was removed or renamed in the Libreswan version that reads this file: pluto warns
    and ignores it, so what the admin meant by it does not happen.""", [
    "Remove the line, or replace it with what took its place (see ipsec.conf(5) of the installed version)",
], REF_BASIC, 30)

topic("algorithm-not-allowed", "error", "An ike=/esp= algorithm cannot be used here", "local", """
    The connection names an algorithm that the installed Libreswan does not build, or that FIPS
    mode (or the system crypto policy) disables. Pluto refuses to load a connection whose proposal
    line has an unknown algorithm, and in FIPS mode drops the non-approved ones, which can leave
    nothing the peer accepts.""", [
    "List what this host allows: ipsec pluto --selftest 2>&1 | grep -e disabled -e FIPS",
    "Use algorithms both ends allow, e.g. ike=aes_gcm256-sha2_512-dh19 and esp=aes_gcm256 (IKEv2)",
], REF_MISMATCH, 85)

topic("ikev1-gcm-ike", "error", "AES-GCM is used for IKE with IKEv1, which IKEv1 cannot do", "local", """
    AES-GCM is available for ESP and for IKEv2, but not for the IKEv1 key exchange: pluto will not
    load an IKEv1 connection whose ike= line asks for it.""", [
    ("Move the connection to IKEv2: ikev2=insist in the conn, or", UP_TO_4),
    ("Move the connection to IKEv2: keyexchange=ikev2 in the conn, or", V5),
    "for IKEv1 use a CBC cipher with an integrity algorithm in ike=, e.g. ike=aes256-sha2_256;modp2048 "
    "(AES-GCM stays fine in esp=)",
], REF_POLICY, 90)

topic("crypto-policy-not-included", "warning", "Conns rely on system defaults that are not included", "local", """
    On systems with system-wide crypto policies (RHEL, Fedora, CentOS) the policy's libreswan
    back-end provides the conn %default with ikev2=, ike= and esp=. This configuration does not
    include it (or the file it includes is missing), yet connections here set no ike=/esp= of their
    own, so they fall back to Libreswan's compiled-in defaults instead of the policy the rest of the
    system follows.""", [
    "Restore the line at the top of /etc/ipsec.conf: include /etc/crypto-policies/back-ends/libreswan.config",
    "or opt out on purpose: give each conn its own ike=, esp= and ikev2=",
    "Check the policy in force: update-crypto-policies --show",
], REF_POLICY, 50)

topic("weak-psk", "warning", "A pre-shared key is too short or not random", "local", """
    The documentation asks for PSKs of random characters, at least 20 long, and recommends 64.
    A short or guessable PSK lets anyone who records one IKE exchange try keys offline. In FIPS
    mode pluto also refuses a PSK shorter than half the output of the PRF in use (16 bytes for
    SHA2-256, 32 for SHA2-512), and the authentication fails.""", [
    "Make a new random key, e.g.: openssl rand -base64 48",
    "Put it on both ends in ipsec.secrets: @left-id @right-id : PSK \"<new key>\"",
    ("Reload the secrets on both ends: ipsec auto --rereadsecrets", UP_TO_4),
    ("Reload the secrets on both ends: ipsec rereadsecrets", V5),
], REF_AUTH, 45)

topic("ppk-not-configured", "error", "ppk= is set but the secrets file has no PPK for these IDs", "local", """
    The connection asks for a post-quantum preshared key (ppk=yes proposes one, ppk=insist requires
    one), but ipsec.secrets has no PPKS entry for its IDs. With ppk=insist the connection cannot
    come up; with ppk=yes it comes up without the quantum protection the admin asked for.""", [
    "Add the same PPK on both ends: @left-id @right-id : PPKS \"ppk-id\" \"<long random string>\"",
    ("Reload the secrets: ipsec auto --rereadsecrets", UP_TO_4),
    ("Reload the secrets: ipsec rereadsecrets", V5),
], REF_AUTH, 70)

topic("ppk-needs-ikev2", "error", "ppk= is set on an IKEv1 connection", "local", """
    Postquantum preshared keys are an IKEv2 feature (IKEv1 with PSK mixes the key into its keys by
    design); pluto ignores or refuses ppk= on an IKEv1 connection.""", [
    ("Use IKEv2 for this connection: ikev2=insist (or remove the ppk option)", UP_TO_4),
    ("Use IKEv2 for this connection: keyexchange=ikev2 (or remove the ppk option)", V5),
], REF_AUTH, 60)

topic("weak-ppk", "warning", "A postquantum preshared key (PPK) is short or not random", "local", """
    A PPK only protects against a future quantum attacker if it is long and random; a short or
    word-like PPK adds little.""", [
    "Use at least 32 random bytes: openssl rand -base64 48, on both ends in the PPKS entry",
], REF_AUTH, 40)

topic("null-auth", "info", "NULL authentication: encryption without knowing who the peer is", "local", """
    authby=null encrypts traffic against passive eavesdroppers but does not authenticate the peer,
    so an active attacker in the path can impersonate it. That is by design for opportunistic
    encryption; for a site-to-site or host-to-host tunnel use PSK, raw RSA keys or certificates.""", [
    "If the peer is known, authenticate it: authby=secret (with a strong PSK) or certificates (authby=rsasig)",
], REF_AUTH, 15)

topic("tcp-encap-always", "info", "IKE and ESP always go over TCP (enable-tcp=yes)", "local", """
    TCP encapsulation costs performance; the documentation advises using it as the main transport
    only where UDP is blocked for good, and enable-tcp=fallback otherwise.""", [
    "If UDP usually works: enable-tcp=fallback",
], REF_TCP, 10)

topic("nic-offload-unsupported", "error", "nic-offload=yes where the interface cannot offload ESP", "local", """
    The connection asks the network card to do ESP (nic-offload=yes), but the interface toward the
    peer does not offer the esp-hw-offload feature (or, for a bond, the bond is not in active-backup
    mode or a port lacks it). The kernel refuses to install an offloaded SA there, so the Child SA
    fails instead of falling back to software.""", [
    "See what the interface offers: ethtool -k DEV | grep esp",
    "For a bond: all ports must support ESP offload and the bond must use mode active-backup; "
    "enable it with nmcli connection modify BOND ethtool.feature-esp-hw-offload on",
    "Otherwise use nic-offload=no (or auto in Libreswan 4.x/5.x)",
], REF_OFFLOAD, 60)

topic("pfs-mismatch", "warning", "Only one end uses PFS for its Child SAs", "both", """
    pfs= differs between the ends. The first Child SA comes up (IKEv2 derives it from the IKE SA),
    but its rekey or any further Child SA needs a Diffie-Hellman exchange on which the ends disagree
    and fails (NO_PROPOSAL_CHOSEN); with IKEv1 Quick Mode it fails straight away.""", [
    "Use the same pfs= on both ends (pfs=yes is the default and the better choice)",
], REF_MISMATCH, 55)

topic("fragmentation-mismatch", "warning", "IKE fragmentation is off on one end", "both", """
    fragmentation=no on one end means big IKE messages (IKE_AUTH with certificates) go out as
    single large UDP packets, which many paths fragment and drop.""", [
    "Use fragmentation=yes (the default) on both ends",
], REF_MISMATCH, 35)

topic("encapsulation-mismatch", "warning", "One end forces UDP encapsulation, the other forbids it", "both", """
    encapsulation=yes makes an end pretend to be behind NAT and put ESP in UDP 4500;
    encapsulation=no on the other end refuses that, so ESP is not carried the way both expect.""", [
    "Use encapsulation=auto (the default) on both ends, or the same value",
], REF_MISMATCH, 50)

# ------------------------------------------------------------------------ the host

topic("xfrm-unavailable", "critical", "The kernel has no IPsec (XFRM) support", "local", """
    The kernel does not offer the XFRM netlink interface pluto uses to install SAs and policies
    (CONFIG_XFRM_USER off, or the xfrm_user module not loaded), so no tunnel can carry traffic.""", [
    "Load the module: modprobe xfrm_user (and af_key on old kernels), then systemctl restart ipsec",
    "Check the kernel: grep -E 'CONFIG_XFRM_USER|CONFIG_INET_ESP' /boot/config-$(uname -r)",
], REF_INSTALL, 99)

topic("icmp-redirects-enabled", "warning", "ICMP redirects are on", "local", """
    With send_redirects or accept_redirects on, the kernel may tell hosts to route around the
    gateway or accept such advice itself, so traffic meant for the tunnel can bypass it. ipsec
    verify asked for both off.""", [
    "sysctl -w net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0",
    "sysctl -w net.ipv4.conf.all.accept_redirects=0 net.ipv4.conf.default.accept_redirects=0",
    "Make it permanent in /etc/sysctl.d/50-ipsec.conf",
], REF_BASIC, 30)

topic("xfrm-larval-drop-off", "warning", "net.core.xfrm_larval_drop is 0", "local", """
    While a tunnel is being negotiated the kernel queues (larval) packets instead of dropping them;
    applications then hang waiting instead of retrying. Libreswan expects xfrm_larval_drop=1.""", [
    "sysctl -w net.core.xfrm_larval_drop=1 (and in /etc/sysctl.d/50-ipsec.conf)",
], REF_BASIC, 25)

topic("secrets-file-error", "error", "ipsec.secrets cannot be read or has lines pluto refuses", "local", """
    pluto reads ipsec.secrets (and what it includes) at start and on --rereadsecrets. An unreadable
    file, an include that matches nothing, or a line it cannot parse means the keys there are not
    loaded: authentication with them fails.""", [
    "Fix the line shown: each entry is 'ID ID : TYPE secret', secrets quoted, 0x hex or 0s base64; "
    "a continuation line must be indented",
    "The file belongs to root, mode 0600: chmod 600 /etc/ipsec.secrets",
    ("Reload: ipsec auto --rereadsecrets", UP_TO_4),
    ("Reload: ipsec rereadsecrets", V5),
], REF_AUTH, 72)

topic("nss-db-missing", "error", "The NSS database pluto uses is not initialised", "local", """
    pluto keeps certificates and private keys in an NSS database (/var/lib/ipsec/nss by default,
    /etc/ipsec.d on some systems). Without it pluto does not start.""", [
    "Create it: ipsec initnss (or ipsec checknss), then systemctl restart ipsec",
    "When reinstalling, remove the old database first: systemctl stop ipsec; rm /var/lib/ipsec/nss/*db",
], REF_NSS, 78)

topic("nss-password-problem", "error", "The NSS database password file does not fit the database", "local", """
    The NSS database is protected by a password, and pluto reads it from the nsspassword file as
    token:password lines. The file is missing, unreadable, has no line for the token in use (in FIPS
    mode the token is 'NSS FIPS 140-2 Certificate DB', otherwise 'NSS Certificate DB'), or has lines
    that are not token:password: pluto cannot open its keys.""", [
    "Write the file: echo 'NSS Certificate DB:<password>' > /etc/ipsec.d/nsspassword; chmod 600 it",
    "In FIPS mode name the FIPS token: NSS FIPS 140-2 Certificate DB:<password>",
    "Restart and look for 'NSS Password from file ... passed to NSS': systemctl restart ipsec; journalctl -u ipsec",
], REF_NSS, 74)

topic("fips-inconsistent", "error", "FIPS mode differs between the kernel, NSS and pluto", "local", """
    A FIPS-compliant VPN needs the kernel, the NSS library and pluto all in FIPS mode; the
    evidence shows them disagree (for example the kernel in FIPS mode but pluto reporting 'FIPS
    mode disabled', or fips-mode-setup done without the reboot).""", [
    "Switch the system to FIPS mode and reboot: fips-mode-setup --enable && reboot",
    "Verify: fips-mode-setup --check; ipsec whack --fipsstatus; journalctl -u ipsec | grep 'FIPS Mode'",
], REF_FIPS, 76)
