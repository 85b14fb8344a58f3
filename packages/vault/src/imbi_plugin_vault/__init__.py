"""Imbi configuration plugin for HashiCorp Vault KV v1 and v2."""
