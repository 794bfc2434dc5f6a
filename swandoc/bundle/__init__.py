"""swandoc.bundle"""
