"""The only HTTP: the gateway client (one GET per call), the rate limiter shared by every
request of a process, and the retry policy.

May import: errors, ids, outcomes. Never the warehouse, sources, pipeline or CLI.
"""
