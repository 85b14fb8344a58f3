"""Imbi logs plugin for Grafana Loki (search, schema, histogram)."""
