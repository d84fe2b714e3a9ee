"""The composition root: wires a source, the gateway and the warehouse into a run (`start`,
`run`), with the stages' hand-offs, batching and shutdown; also `--processes N`, `enqueue`,
`reprocess` and the demo.

May import: every stage below it. Only the CLI imports it.
"""
