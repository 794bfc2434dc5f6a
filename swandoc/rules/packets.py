"""Rules over packets evidence (placeholder until its owner fills it in)."""
