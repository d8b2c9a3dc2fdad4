"""Hostile-input fuzzing of every operation in the service's own OpenAPI document (see tests/test_no_500.py)."""
