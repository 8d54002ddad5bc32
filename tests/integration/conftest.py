"""Fixtures for integration tests: start the real lanesd on an ephemeral port and talk to it.

Design: each fixture starts `lanesd --listen 127.0.0.1:0 --port-file F` and reads the bound port from
F, so tests never race for a fixed port. LANES_BUILD_DIR picks the build (a sanitizer build reuses the
same tests). The daemon is stopped with SIGTERM and must exit 0; its log is kept for the failure report.

Timing: nothing here or in the tests may depend on how fast the machine is (CI is a busy 2-core machine,
and the sanitizer build is several times slower). Tests wait for a condition the daemon shows (its port
file, Info, Health, a log line) with wait_for(), whose deadline, HANG_GUARD_S, is only a guard against a
hang, never a measurement; no test sleeps to let something happen or compares a duration with a bound.
"""
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("LANES_BUILD_DIR", ROOT / "build"))
if not BUILD.is_absolute():
    BUILD = ROOT / BUILD
LANESD = BUILD / "service" / "lanesd"
# The test build of the daemon: the same code plus test hooks (service/test_hooks.h): simulated GPU
# devices (LANES_TEST_FAKE_GPUS) and deliberate device faults (LANES_TEST_GPU_FAULT_FILE).
LANESD_TEST = BUILD / "service" / "lanesd-test"
LANES_CLI = BUILD / "clients" / "c" / "lanes"
SHARED_DATA = ROOT.parent / "shared" / "data"
# How long a test waits for something that must happen before it calls it a hang: generous for a
# sanitizer build on a 2-core machine with stress-ng --cpu 2 beside it.
HANG_GUARD_S = 120


def wait_for(condition, what, timeout=HANG_GUARD_S, poll=0.02):
    """Polls condition() until it returns something true, and returns that; after timeout seconds (a
    hang guard, not a measurement) fails naming what was awaited. what: a string, or a callable giving
    one (for the state seen last)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what() if callable(what) else what}")
        time.sleep(poll)


class Daemon:
    """A running lanesd: .address ('127.0.0.1:PORT'), .proc, .log_path; stop() sends SIGTERM."""

    def __init__(self, tmp_path: Path, args=(), env=None, binary=None):
        self.tmp = tmp_path
        self.port_file = tmp_path / "port"
        self.log_path = tmp_path / "lanesd.log"
        if self.port_file.exists():
            self.port_file.unlink()
        full_env = dict(os.environ)
        full_env.update(env or {})
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(binary or LANESD), "--listen", "127.0.0.1:0", "--port-file", str(self.port_file), *args],
            stdout=self._log, stderr=subprocess.STDOUT, env=full_env)
        deadline = time.monotonic() + HANG_GUARD_S
        while time.monotonic() < deadline:
            if self.port_file.exists() and self.port_file.read_text().strip():
                break
            if self.proc.poll() is not None:
                raise RuntimeError(f"lanesd exited with {self.proc.returncode}:\n{self.log()}")
            time.sleep(0.02)
        else:
            self.proc.kill()
            raise RuntimeError(f"lanesd did not start in {HANG_GUARD_S} s:\n{self.log()}")
        self.port = int(self.port_file.read_text().strip())
        self.address = f"127.0.0.1:{self.port}"

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_log(self, text, timeout=HANG_GUARD_S):
        """Waits until the daemon's log contains text (a hang guard of timeout seconds)."""
        wait_for(lambda: text in self.log(), lambda: f"{text!r} in the log of lanesd:\n{self.log()[-3000:]}",
                 timeout)

    def stop(self, timeout=HANG_GUARD_S) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        if not self._log.closed:
            self._log.close()
        return self.proc.returncode


@pytest.fixture(scope="session")
def lanesd_path():
    if not LANESD.exists():
        pytest.fail(f"{LANESD} is not built (run scripts/build.sh)")
    return LANESD


@pytest.fixture(scope="module")
def daemon(tmp_path_factory, lanesd_path):
    """One daemon per test module, with built-in defaults."""
    d = Daemon(tmp_path_factory.mktemp("lanesd"))
    yield d
    rc = d.stop()
    assert rc == 0, f"lanesd exited with {rc}:\n{d.log()}"


@pytest.fixture
def start_daemon(tmp_path, lanesd_path):
    """Factory for tests that need their own daemon with extra flags or environment."""
    started = []

    def start(*args, env=None, binary=None):
        d = Daemon(tmp_path / f"d{len(started)}", args, env, binary)
        started.append(d)
        return d

    (tmp_path / "d0").mkdir(exist_ok=True)
    for i in range(1, 8):
        (tmp_path / f"d{i}").mkdir(exist_ok=True)
    yield start
    for d in started:
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()


@pytest.fixture(scope="session")
def cli_path():
    if not LANES_CLI.exists():
        pytest.fail(f"{LANES_CLI} is not built (run scripts/build.sh)")
    return LANES_CLI
