"""A gateway body becomes rows, purely: the envelope and every quirk (`parse`, `envelope`,
`fields`, `coerce`), exact JSON (`exact_json`, `numbers`), the periods and the embedded
location (`periods`, `locations`, each with its hot twin), and `flatten` into `rows`.

May import: errors, outcomes. No I/O library (import-linter holds it so).
"""
