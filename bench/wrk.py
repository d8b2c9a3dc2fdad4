"""wrk, run from the benches: its figures parsed, its Lua scripts written beside the run's other files.

wrk (Debian's package) is the load: a C client on loopback that a Python service cannot outrun, so what is
measured is the server. Each bench measures the bare endpoint (bench/verify/bare.py) in the same run.
"""

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.crowd.serve import running_bare

# Each request picks one line of the file named by the first argument, at random, and asks for the path
# prefix (second argument) followed by it: many distinct badges, as a city's phones scan them.
PICK_LINE = """
local lines = {}
local prefix = "/"
init = function(args)
  for line in io.lines(args[1]) do lines[#lines + 1] = line end
  prefix = args[2]
  math.randomseed(os.time() * 1000 + (tonumber(args[3]) or 0) + #lines + math.floor(os.clock() * 1e6))
end
request = function()
  return wrk.format("GET", prefix .. lines[math.random(#lines)])
end
"""


@dataclass(frozen=True)
class Figures:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non2xx: int
    errors: int


def need_wrk() -> None:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")


def parse(out: str) -> Figures:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    if not rps or not total:
        raise SystemExit(f"wrk printed no figures:\n{out}")

    def pct(p: str) -> float:
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)\b", out)
        if not m:
            raise SystemExit(f"wrk printed no {p}th percentile:\n{out}")
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return Figures(float(rps.group(1)), pct("50"), pct("99"), int(total.group(1)),
                   int(non2xx.group(1)) if non2xx else 0, sum(map(int, errors.groups())) if errors else 0)


def run(url: str, *, duration: int, connections: int, threads: int = 2, script: Path | None = None,
        script_args: tuple[str, ...] = ()) -> Figures:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s"]
    if script is not None:
        command += ["-s", str(script)]
    command.append(url)
    if script_args:
        command += ["--", *script_args]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return parse(out)


def write_script(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


HEADER = f"{'endpoint':<44}{'req/s':>9}{'ratio':>7}{'p50 ms':>9}{'p99 ms':>9}{'reqs':>9}{'non-2xx':>9}{'errors':>8}"


def row(name: str, f: Figures, bare: Figures) -> str:
    return (f"{name:<44}{f.rps:>9,.0f}{f.rps / bare.rps:>7.3f}{f.p50_ms:>9.2f}{f.p99_ms:>9.2f}{f.requests:>9}"
            f"{f.non2xx:>9}{f.errors:>8}")


@dataclass(frozen=True)
class Yardstick:
    """The bare endpoint kept running, measured again whenever a bench asks (``measure``)."""

    base: str
    tokens: Path
    script: Path
    duration: int
    connections: int

    def measure(self) -> Figures:
        return run(self.base + "/bare-async/", duration=self.duration, connections=self.connections,
                   script=self.script, script_args=(str(self.tokens), "/bare-async/"))


@contextmanager
def yardstick(tmp: Path, *, duration: int, connections: int, paths: int, path_bytes: int,
              http: str = "auto") -> Iterator[Yardstick]:
    """The bare ``async def`` endpoint under the same wrk load over ``paths`` paths, each bench's yardstick
    (uvicorn as it comes; ``http``: another HTTP protocol, e.g. the service's own), running until the block
    ends. Idle, it only listens: a bench measures it right before each run of a service, so that each ratio is to
    the machine as it was seconds before that run (this one's speed drifts by a quarter within an hour, and a
    service is seeded for a minute or more before its first run)."""
    name = f"bare-{http.rsplit(':', 1)[-1].lower()}"  # files of its own: two may run at once
    with running_bare(tmp / f"{name}.log", http) as bare:
        tokens = tmp / f"{name}-tokens.txt"
        tokens.write_text("\n".join(os.urandom(path_bytes).hex() for _ in range(paths)) + "\n")
        yield Yardstick(bare, tokens, write_script(tmp, "bare.lua", PICK_LINE), duration, connections)


def bare_figures(tmp: Path, *, duration: int, connections: int, paths: int, path_bytes: int,
                 http: str = "auto") -> Figures:
    """The yardstick measured once."""
    with yardstick(tmp, duration=duration, connections=connections, paths=paths, path_bytes=path_bytes,
                   http=http) as bare:
        return bare.measure()
