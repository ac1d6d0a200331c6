"""Helpers the tests share (samples, parity, serving, the backbone contract); the pytest
fixtures that build on them live in tests/conftest.py."""
