"""swandoc: troubleshooting and diagnostics for Libreswan IPsec VPNs."""

__version__ = "0.1.0"
