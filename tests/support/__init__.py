"""Helpers shared by the test modules (fakes, fixtures' data, samples)."""
