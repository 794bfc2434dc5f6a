"""Reproduce IPsec failures with two real pluto daemons in network namespaces.

Nothing in this package touches the host's own interfaces, routes or firewall:
every interface is created directly inside a namespace made for the run, and the
namespaces (and with them the veth pairs) are deleted when the run ends.
"""
