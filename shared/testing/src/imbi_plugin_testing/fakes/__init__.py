"""Stateful stand-ins of the upstreams, one module (or package) each."""
