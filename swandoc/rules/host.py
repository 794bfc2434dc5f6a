"""Rules over host evidence (placeholder until its owner fills it in)."""
