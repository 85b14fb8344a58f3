"""Imbi lifecycle plugin: archive a project's GitHub repository with it."""
