"""The kinds of :class:`~swandoc.model.LogEvent`, as constants, each in exactly one group.

``logparse/events.py`` produces these kinds; rules and facts name them through the constants and
the groups below, so a list such as "the failure kinds" is written once and cannot miss a kind
(``tests/code/test_kinds.py`` checks that every kind the parser can produce is in exactly one group).

>>> TIMEOUT in FAILURES and IKE_ESTABLISHED in SUCCESS
True
>>> sorted(FAILURES & PROGRESS)
[]
"""
from __future__ import annotations

# negotiation progress
INITIATE = "initiate"
SENT = "sent"
PROCESSING = "processing"
STATE = "state"
PROPOSAL_LIST = "proposal_list"
PROPOSAL_CHOSEN = "proposal_chosen"
NAT_DETECTED = "nat_detected"
FRAGMENTATION = "fragmentation"
INVALID_KE = "invalid_ke"  # the responder asks for another DH group; pluto retries with it
RESPONDING = "responding"  # IKEv1 responder starting Main/Aggressive Mode for a peer
# success
IKE_ESTABLISHED = "ike_established"
CHILD_ESTABLISHED = "child_established"
# failures during or after negotiation
RETRANSMIT = "retransmit"
TIMEOUT = "timeout"
NOTIFY_RECEIVED = "notify_received"
NOTIFY_SENT = "notify_sent"
NO_PROPOSAL = "no_proposal"
TS_MISMATCH = "ts_mismatch"
AUTH_FAILED = "auth_failed"
HASH_MISMATCH = "hash_mismatch"
SECRET_MISSING = "secret_missing"
ICMP_ERROR = "icmp_error"
NETLINK_ERROR = "netlink_error"
DPD = "dpd"
IKEV1_REFUSED = "ikev1_refused"
NO_CONNECTION = "no_connection"
FATAL = "fatal"
TCP_ENCAP_FAILED = "tcp_encap_failed"
XAUTH_FAILED = "xauth_failed"
ID_MISMATCH = "id_mismatch"
DUPLICATE_REQUEST = "duplicate_request"  # the peer sent the same request again: our answer did not reach it
CHILD_REFUSED = "child_refused"  # 5.x: IKE_AUTH answered without a Child SA
TCP_CONNECT_REFUSED = "tcp_connect_refused"
# loading the configuration
CONN_ADDED = "conn_added"
ADD_FAILED = "add_failed"
ORIENT_FAILED = "orient_failed"
UNKNOWN_CONN = "unknown_conn"
UNORIENTED = "unoriented"
CONFIG_ERROR = "config_error"
# the daemon
BANNER = "banner"
IFACE_ADDED = "iface_added"
SECRETS_LOADED = "secrets_loaded"
CRASHED = "crashed"
DAEMON_DOWN = "daemon_down"
KERNEL_UNSUPPORTED = "kernel_unsupported"
INTERNAL_ERROR = "internal_error"  # EXPECTATION FAILED: a Libreswan bug, pluto carries on
# a line that reads like trouble but that no pattern knows (shown as unrecognised-trouble)
TROUBLE = "trouble"

PROGRESS = frozenset({INITIATE, SENT, PROCESSING, STATE, PROPOSAL_LIST, PROPOSAL_CHOSEN, NAT_DETECTED,
                      FRAGMENTATION, INVALID_KE, RESPONDING})
SUCCESS = frozenset({IKE_ESTABLISHED, CHILD_ESTABLISHED})
FAILURES = frozenset({RETRANSMIT, TIMEOUT, NOTIFY_RECEIVED, NOTIFY_SENT, NO_PROPOSAL, TS_MISMATCH, AUTH_FAILED,
                      HASH_MISMATCH, SECRET_MISSING, ICMP_ERROR, NETLINK_ERROR, DPD, IKEV1_REFUSED, NO_CONNECTION,
                      FATAL, TCP_ENCAP_FAILED, XAUTH_FAILED, ID_MISMATCH, DUPLICATE_REQUEST, CHILD_REFUSED,
                      TCP_CONNECT_REFUSED})
LOADING = frozenset({CONN_ADDED, ADD_FAILED, ORIENT_FAILED, UNKNOWN_CONN, UNORIENTED, CONFIG_ERROR})
DAEMON = frozenset({BANNER, IFACE_ADDED, SECRETS_LOADED, CRASHED, DAEMON_DOWN, KERNEL_UNSUPPORTED, INTERNAL_ERROR})
UNRECOGNISED = frozenset({TROUBLE})
GROUPS = (PROGRESS, SUCCESS, FAILURES, LOADING, DAEMON, UNRECOGNISED)
ALL = frozenset().union(*GROUPS)
