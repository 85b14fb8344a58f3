"""Cross-package tests: the secret scan runs over every test here."""

import pytest
from imbi_plugin_testing import SecretScan


@pytest.fixture(autouse=True)
def _no_secret_leaks(secret_scan: SecretScan) -> SecretScan:
    # Every credential a Host is given is registered automatically.
    return secret_scan
