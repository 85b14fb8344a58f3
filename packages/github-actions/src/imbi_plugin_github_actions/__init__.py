"""Imbi deployment plugin for GitHub Actions (github.com and GHES)."""
