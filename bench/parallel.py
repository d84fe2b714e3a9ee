"""Run N copies of a command at once and print their `run.finished` summaries added up, as one
JSON line: N `syncer run --queue` workers on one queue, or N `syncer run --ids` processes each
on its own shard (`{shard}` in an argument becomes 0 … N-1).
`python -m bench.parallel N COMMAND...`"""

from __future__ import annotations

import json
import subprocess
import sys

from bench.common import emit

COUNTED = ("requested", "fetched", "inserted", "updated", "unchanged", "stale", "not_found", "failed")


def main() -> None:
    count, argv = int(sys.argv[1]), sys.argv[2:]
    procs = [
        subprocess.Popen(
            [arg.replace("{shard}", str(k)) for arg in argv],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        for k in range(count)
    ]
    total = dict.fromkeys(COUNTED, 0)
    codes = []
    for proc in procs:
        _, stderr = proc.communicate()
        codes.append(proc.returncode)
        for line in stderr.splitlines():
            if '"run.finished"' in line:
                summary = json.loads(line)
                for name in COUNTED:
                    total[name] += int(summary.get(name) or 0)
    emit({"event": "run.finished", "workers": count, "exit_codes": codes, **total})
    sys.exit(max(codes))


if __name__ == "__main__":
    main()
