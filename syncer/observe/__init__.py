"""Watching a run: structured logs with secrets redacted (`logs`) and the terminal progress
line (`progress`).

May import: outcomes, settings. Never the warehouse, gateway, sources or pipeline.
"""
