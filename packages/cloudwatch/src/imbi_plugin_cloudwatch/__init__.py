"""Imbi logs plugin over AWS CloudWatch Logs (FilterLogEvents, Insights)."""
