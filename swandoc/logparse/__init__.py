"""swandoc.logparse"""
