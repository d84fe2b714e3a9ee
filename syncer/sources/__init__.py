"""Where ids come from: a file (or stdin) and the `sync_queue` table, behind one interface.

`base.Source` is what the pipeline sees: the ids, lazily, each either to fetch or already
rejected (an invalid id, a queue row whose attempts ran out); the fence each write checks and
records in its transaction (queue leases); how patient the fetch stage is with one id; where
failures are settled; background work for the run's life (lease heartbeats); and what to give
back at the end. `file.FileSource` and `queue.QueueSource` implement it.

May import: ids, errors, outcomes, observe, gateway.retry (the retry policy), warehouse (the
queue table). Never the pipeline or the CLI.
"""
