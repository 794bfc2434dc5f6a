"""swandoc.probes"""
