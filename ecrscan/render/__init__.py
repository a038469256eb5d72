"""Output formats: pure functions of a run's result (no I/O)."""
