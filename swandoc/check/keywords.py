"""Which ipsec.conf keywords each Libreswan release knows, as data.

Taken (names only) from the keyword tables of Libreswan's own parser at v4.10
(lib/libipsecconf/keywords.c) and v5.3 (lib/libswan/ipsecconf/keywords.c, config_setup.c):
``setup`` keywords belong in ``config setup``, ``conn`` ones in a conn, ``leftright`` ones are
written ``leftNAME``/``rightNAME``; ``obsolete`` ones are accepted with a warning and ignored;
``optional`` ones exist only in builds with a compile-time feature (seccomp, DNSSEC, NFLOG ...):
they are accepted, since a build may have them. Entries inside ``#if 0`` are left out.
tests/check/test_config_rules.py checks the 4.x table against the installed ``ipsec addconn`` (4.10); the
5.x table, checked by hand against Debian 13's 5.2 addconn, holds seven keywords 5.2 does not know yet
(new in 5.3: crl-timeout, expire-shunt-interval, logstderr, rundir, cisco-split,
send-esp-tfc-padding-not-supported, share-lease).
"""
from __future__ import annotations

V4_SETUP = frozenset("""
    audit-log crl-strict crlcheckinterval curl-iface curl-timeout ddos-ike-threshold ddos-mode
    dnssec-anchors dnssec-enable dnssec-rootkey-file drop-oppo-null dumpdir global-redirect
    global-redirect-to ike-socket-bufsize ike-socket-errqueue ikev1-policy ikev1-secctx-attr-type
    ipsecdir keep-alive listen listen-tcp listen-udp logappend logfile logip logtime
    max-halfopen-ike myvendorid nflog-all nhelpers nssdir ocsp-cache-max-age ocsp-cache-min-age
    ocsp-cache-size ocsp-enable ocsp-method ocsp-strict ocsp-timeout ocsp-trustname ocsp-uri
    plutodebug plutostderrlog protostack seccomp secctx-attr-type secretsfile seedbits shuntlifetime
    statsbin syslog uniqueids virtual-private virtual_private xfrmlifetime
""".split())

V4_CONN = frozenset("""
    accept-redirect accept-redirect-to aggressive aggrmode ah also alsoflip authby auto cisco-unity
    clientaddrfamily compress connalias decap-dscp dpdaction dpddelay dpdtimeout enable-tcp
    encapsulation esn esp failureshunt fake-strongswan fragmentation hostaddrfamily ignore-peer-dns
    ike ikelifetime ikepad ikev2 initial-contact intermediate ipsec-interface ipsec-lifetime
    ipsec-max-bytes ipsec-max-packets keyexchange keyingtries keylife lifetime mark mark-in mark-out
    metric mobike modecfgbanner modecfgdns modecfgdomains modecfgpull ms-dh-downgrade mtu narrowing
    nat-ikev1-method nat-keepalive negotiationshunt nflog nic-offload nm-configured nopmtudisc
    overlapip pam-authorize pfs phase2 phase2alg policy-label ppk priority reauth redirect-to rekey
    rekeyfuzz rekeymargin remote-peer-type remote_peer_type replay-window reqid
    require-id-on-certificate retransmit-interval retransmit-timeout salifetime sec-label
    send-no-esp-tfc send-redirect send-vendorid sendca sha2-truncbug tcp-remoteport tfc type
    vti-interface vti-routing vti-shared x-comment xauthby xauthfail
""".split())

V4_LEFTRIGHT = frozenset("""
    addresspool auth autheap ca cat cert ckaid ecdsakey id ikeport modecfgclient modecfgserver
    nexthop protoport pubkey rsasigkey sendcert sourceip subnet subnets updown username vti
    xauthclient xauthserver xauthusername
""".split())

V4_OBSOLETE = frozenset("""
    forceencaps interfaces
""".split())

V4_OPTIONAL = frozenset("""
    cat dnssec-anchors dnssec-enable dnssec-rootkey-file ikev1-secctx-attr-type ipsec-interface
    nflog nflog-all nm-configured seccomp secctx-attr-type xfrmlifetime
""".split())

V5_SETUP = frozenset("""
    audit-log crl-strict crl-timeout crlcheckinterval curl-iface curl-timeout ddos-ike-threshold
    ddos-mode dnssec-anchors dnssec-enable dnssec-rootkey-file drop-oppo-null dumpdir
    expire-lifetime expire-shunt-interval global-redirect global-redirect-to ike-socket-bufsize
    ike-socket-errqueue ikev1-policy ipsec-interface-managed ipsecdir keep-alive listen listen-tcp
    listen-udp logappend logfile logip logstderr logtime max-halfopen-ike myvendorid nflog-all
    nhelpers nssdir ocsp-cache-max-age ocsp-cache-min-age ocsp-cache-size ocsp-enable ocsp-method
    ocsp-strict ocsp-timeout ocsp-trustname ocsp-uri plutodebug protostack rundir seccomp
    secretsfile seedbits shuntlifetime statsbin uniqueids virtual-private xfrmlifetime
""".split())

V5_CONN = frozenset("""
    accept-redirect accept-redirect-to aggressive aggrmode ah also authby auto cisco-split
    cisco-unity compress connalias debug decap-dscp dpddelay dpdtimeout enable-tcp encap-dscp
    encapsulation esn esp failureshunt fake-strongswan fragmentation hostaddrfamily ignore-peer-dns
    ike ikelifetime ikepad ikev1-dpdtimeout ikev2 initial-contact intermediate ipsec-interface
    ipsec-lifetime ipsec-max-bytes ipsec-max-packets iptfs iptfs-drop-time iptfs-fragmentation
    iptfs-init-delay iptfs-max-queue-size iptfs-packet-size iptfs-reorder-window keyexchange keylife
    lifetime mark mark-in mark-out metric mobike modecfgbanner modecfgdns modecfgdomains modecfgpull
    ms-dh-downgrade mtu narrowing nat-ikev1-method nat-keepalive negotiationshunt nflog nflog-group
    nic-offload nm-configured nopmtudisc overlapip pam-authorize pfs pfs-rekey-workaround phase2
    phase2alg policy-label ppk ppk-ids priority reauth redirect-to rekey rekeyfuzz rekeymargin
    remote-peer-type remote_peer_type replay-window reqid require-id-on-certificate
    retransmit-interval retransmit-timeout salifetime sec-label send-esp-tfc-padding-not-supported
    send-no-esp-tfc send-redirect send-vendorid sendca session-resumption sha2-truncbug share-lease
    tcp-remoteport tfc type vti-interface vti-routing vti-shared xauthby xauthfail
""".split())

V5_LEFTRIGHT = frozenset("""
    addresspool auth autheap ca cat cert ckaid ecdsakey groundhog id ikeport interface-ip
    modecfgclient modecfgserver nexthop protoport pubkey rsasigkey sendcert sourceip subnet subnets
    updown username vti xauthclient xauthserver xauthusername
""".split())

V5_OBSOLETE = frozenset("""
    clientaddrfamily dpdaction ikev1-secctx-attr-type interfaces keyingtries plutostderrlog
    secctx-attr-type syslog virtual_private
""".split())

V5_OPTIONAL = frozenset("""
    cat dnssec-anchors dnssec-enable dnssec-rootkey-file expire-lifetime nflog nflog-all nflog-group
    seccomp xfrmlifetime
""".split())

# Keywords of Libreswan 3.x (the tables at v3.0 and v3.32) that 4.x and 5.x no longer know: pluto
# refuses a file with them (syntax error), and what they meant has moved or gone.
REMOVED_IN_4 = frozenset("""
    cisco_unity connaddrfamily crl_strict curl_iface curl_timeout disable_port_floating
    disablearrivalcheck force-busy force_busy force_keepalive forwardcontrol fragicmp hidetos
    ike-frag ike_frag initial_contact interface-ip keep_alive klipsdebug labeled-ipsec labeled_ipsec
    loopback modecfgdns1 modecfgdns2 modecfgdomain modecfgwins1 modecfgwins2 myid nat-ikeport
    nat_ikeport nat_keepalive nat_traversal nm_configured nocrsend ocsp_enable ocsp_strict
    ocsp_timeout ocsp_trust_name ocsp_uri oe overridemtu perpeerlog perpeerlogdir pluto plutofork
    plutoopts plutorestartoncrash plutostderrlogtime plutowait policy_label postpluto prepluto
    retransmits rp_filter rsasigkey2 sareftrack secctx-attr-value secctx_attr_value send_vendorid
    sha2_truncbug strictcrlpolicy subnetwithin xauthname
""".split())

# The parser handles these itself; they are in no table.
STRUCTURAL = frozenset({"also", "left", "right", "auto"})

KEYWORDS = {
    4: {"setup": V4_SETUP, "conn": V4_CONN | STRUCTURAL, "leftright": V4_LEFTRIGHT, "obsolete": V4_OBSOLETE,
        "optional": V4_OPTIONAL},
    5: {"setup": V5_SETUP, "conn": V5_CONN | STRUCTURAL, "leftright": V5_LEFTRIGHT, "obsolete": V5_OBSOLETE,
        "optional": V5_OPTIONAL},
}
