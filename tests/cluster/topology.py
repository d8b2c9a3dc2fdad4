"""The topology of scripts/cluster.sh, driven from tests: nginx in front of two ``auxduty serve`` hosts that
share PostgreSQL, Redis, an S3 bucket and the secret, each with its own data dir. Started by the script itself,
so what the tests exercise is what an operator starts."""

import os
import random
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2

from tests.live import free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "cluster.sh"
HOSTS = ("a", "b")


@dataclass(frozen=True)
class Topology:
    state: Path
    proxy: str
    hosts: dict[str, str]  # "a" and "b": each host's own URL, bypassing the proxy

    def env(self, host: str) -> dict[str, str]:
        """The environment host ``host`` runs with (its env file in the state dir, as the script wrote it), for
        running ``auxduty`` as that host."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("AUXDUTY_")}
        listed = subprocess.run(
            ["bash", "-c", '. "$0"; for v in $(compgen -e); do case $v in AUXDUTY_*) printf "%s=%s\\0" "$v" "${!v}";; '
             "esac; done", str(self.state / host / "env")],
            env=base, check=True, capture_output=True, text=True).stdout
        return base | dict(item.split("=", 1) for item in listed.split("\0") if item)

    def log(self, name: str) -> str:
        """What host ``name`` wrote (its requests, one JSON line each), or the proxy's access log."""
        path = self.state / "nginx" / "access.log" if name == "proxy" else self.state / name / "serve.log"
        return path.read_text(errors="replace")

    def pid(self, name: str) -> int:
        return int((self.state / "nginx" / "nginx.pid" if name == "proxy" else self.state / name / "pid").read_text())


def cluster_script(action: str, env: dict[str, str], timeout: float = 120) -> str:
    done = subprocess.run(["bash", str(SCRIPT), action], env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"scripts/cluster.sh {action} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def script_env(state: Path, database_url: str, storage_url: str, **settings: str) -> dict[str, str]:
    """The environment for scripts/cluster.sh: free ports, this state dir, database and bucket; ``settings``
    (AUXDUTY_*) go to both hosts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUXDUTY_")}
    env.update({
        "AUXDUTY_CLUSTER_DIR": str(state),
        "AUXDUTY_CLUSTER_PROXY_PORT": str(free_port()),
        "AUXDUTY_CLUSTER_PORT_A": str(free_port()),
        "AUXDUTY_CLUSTER_PORT_B": str(free_port()),
        "AUXDUTY_CLUSTER_DATABASE_URL": database_url,
        "AUXDUTY_CLUSTER_STORAGE_URL": storage_url,
        "AUXDUTY_CLUSTER_PYTHON": sys.executable,
        "AUXDUTY_CLUSTER_WAIT_SECONDS": "60",
    })
    env.update(settings)
    return env


@contextmanager
def running_topology(env: dict[str, str]) -> Iterator[Topology]:
    """Start the topology with ``env`` (see ``script_env``) and stop it when the block ends."""
    try:
        cluster_script("start", env)
        yield Topology(
            state=Path(env["AUXDUTY_CLUSTER_DIR"]),
            proxy=f"http://127.0.0.1:{env['AUXDUTY_CLUSTER_PROXY_PORT']}",
            hosts={h: f"http://127.0.0.1:{env[f'AUXDUTY_CLUSTER_PORT_{h.upper()}']}" for h in HOSTS},
        )
    finally:
        cluster_script("stop", env)


def loopback_address() -> str:
    """An address of this machine's loopback network of no one else's: each client of a test comes from one, so
    what the hosts count per client (rate limits, failed logins, kept in the Redis every test run shares) is
    this client's alone."""
    return f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def client(base: str, address: str) -> httpx2.Client:
    """A client of ``base`` whose connections come from ``address``."""
    return httpx2.Client(base_url=base, transport=httpx2.HTTPTransport(local_address=address), timeout=30)
