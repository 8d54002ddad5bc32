"""The daemon as an operator sees it, through the real lanesd: process names, --help, a taken port,
connection bursts over the open-file limit, calls held open at max_calls, idle streams, shutdown
messages and the log line every ended call leaves.

Design: every wait is on a condition the daemon itself reports (Info's counters, Health, a log line),
with a generous deadline only as a hang guard; nothing asserts on elapsed time.
"""
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import grpc
import numpy as np
import pytest

import lanes
from lanes.v1 import lanes_pb2, lanes_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from conftest import LANESD

GUARD_S = 120  # hang guard for conditions the daemon reaches on its own


def wait_for(cond, what, timeout=GUARD_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def info(address):
    with grpc.insecure_channel(address) as ch:
        return lanes_pb2_grpc.LanesStub(ch).Info(lanes_pb2.InfoRequest(), timeout=60, wait_for_ready=True)


def comm(pid):
    with open(f"/proc/{pid}/comm") as f:
        return f.read().strip()


def children(pid):
    out = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/children") as f:
            out += [int(p) for p in f.read().split()]
    return out


class HeldStream:
    """A Map stream whose client sends nothing until release(): a call the daemon holds open."""

    def __init__(self, channel):
        self._go = threading.Event()
        self.error = None
        self.call = lanes_pb2_grpc.LanesStub(channel).Map(self._requests(), timeout=GUARD_S)
        self._t = threading.Thread(target=self._drain, daemon=True)
        self._t.start()

    def _requests(self):
        self._go.wait(GUARD_S)
        return
        yield  # a generator that ends without a message: the client half-closes

    def _drain(self):
        try:
            for _ in self.call:
                pass
        except grpc.RpcError as e:
            self.error = e

    def release(self):
        self._go.set()

    def join(self):
        self._t.join(GUARD_S)
        assert not self._t.is_alive()
        return self.error


# ---- names and messages ----

def test_process_names_are_lanesd_and_its_workers(start_daemon):
    d = start_daemon("--proc-workers", "2")
    assert comm(d.proc.pid) == "lanesd"
    if shutil.which("pgrep"):
        pids = subprocess.run(["pgrep", "-x", "lanesd"], capture_output=True, text=True).stdout.split()
        assert str(d.proc.pid) in pids
    wait_for(lambda: len(children(d.proc.pid)) >= 2, "the process pool's workers")
    names = sorted(comm(p) for p in children(d.proc.pid))
    assert names.count("lanesd-worker") == 2, names
    assert d.stop() == 0


def test_help_lists_every_endpoint_family():
    out = subprocess.run([str(LANESD), "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    for family in ("Map", "Reduce", "Acf", "WordCount", "WordAcf", "Corpus", "Info", "Echo", "Health"):
        assert re.search(rf"\b{family}\b", out.stdout), (family, out.stdout[:600])
    assert "map, reduce and info jobs" not in out.stdout
    for key in ("--max-connections", "--idle-timeout-seconds"):
        assert key in out.stdout


def test_a_taken_port_fails_in_one_clear_line(start_daemon):
    d = start_daemon()
    second = subprocess.run([str(LANESD), "--listen", d.address], capture_output=True, text=True, timeout=60)
    assert second.returncode == 1
    lines = [ln for ln in (second.stdout + second.stderr).splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    assert lines[0].endswith(f"cannot listen on {d.address}: address in use"), lines
    assert d.stop() == 0


def test_info_explains_a_missing_cuda_in_words(daemon_for_cuda_text):
    detail = daemon_for_cuda_text
    assert "no NVIDIA driver on this machine" in detail and "libcuda.so.1" in detail, detail
    assert "exited before saying hello" not in detail


@pytest.fixture
def daemon_for_cuda_text(start_daemon):
    try:
        ctypes.CDLL("libcuda.so.1")
        pytest.skip("this machine has an NVIDIA driver library")
    except OSError:
        pass
    d = start_daemon()
    r = info(d.address)
    cuda = [b for b in r.backends if b.name == "cuda"]
    if not cuda or "CPU-only" in cuda[0].detail or "not compiled" in cuda[0].detail:
        d.stop()
        pytest.skip("a CPU-only build")
    # The GPU worker's probe runs in the background: wait for its verdict.
    detail = wait_for(lambda: next(b.detail for b in info(d.address).backends if b.name == "cuda")
                      if "starting" not in next(b.detail for b in info(d.address).backends if b.name == "cuda")
                      else None, "the GPU worker's probe")
    assert d.stop() == 0
    return detail


# ---- descriptors and connections ----

def limited(tmp_path, nofile):
    """A wrapper that runs lanesd under `prlimit --nofile=...` in the same process (each step execs)."""
    if not shutil.which("prlimit"):
        pytest.skip("prlimit (util-linux) is not installed")
    w = tmp_path / f"lanesd-nofile-{nofile.replace(':', '-')}"
    w.write_text(f'#!/bin/sh\nexec prlimit --nofile={nofile} -- "{LANESD}" "$@"\n')
    w.chmod(0o755)
    return w


def nofile_limits(pid):
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return int(soft), int(hard)
    raise AssertionError("no Max open files line")


def test_the_open_file_limit_is_raised_to_its_hard_limit(start_daemon, tmp_path):
    d = start_daemon(binary=limited(tmp_path, "256:4096"))
    assert nofile_limits(d.proc.pid) == (4096, 4096)
    assert "raised the open-file limit (RLIMIT_NOFILE) from 256 to its hard limit 4096" in d.log()
    assert d.stop() == 0


def test_a_connection_burst_over_the_fd_limit_never_stops_accepting(start_daemon, tmp_path):
    """gRPC's own listener stops for good after one EMFILE; lanesd's keeps connections below the limit,
    refuses the rest at once, and accepts again when they close."""
    d = start_daemon("--proc-workers", "1", binary=limited(tmp_path, "64"))
    limit = info(d.address).max_connections
    assert 0 < limit < 64
    socks = []
    try:
        for _ in range(80):
            s = socket.create_connection(("127.0.0.1", d.port), timeout=30)
            socks.append(s)
        wait_for(lambda: "refusing new connections" in d.log(), "the refusal log line")
        r = info_or_none(d.address)
        if r is not None:  # a connection could be had while the burst is open: it is bounded
            assert r.open_connections <= r.max_connections
    finally:
        for s in socks:
            s.close()
    # Every descriptor comes back, and the listener accepts again: a real call succeeds. (Until gRPC
    # has seen the closed connections, a new one may still be refused: Info waits for a connection,
    # and its own count says when they are gone.)
    wait_for(lambda: info(d.address).open_connections <= 2, "the closed connections to be gone")
    with lanes.Client(d.address) as c:
        assert c.reduce("sum", np.arange(10.0)) == 45.0
    r = info(d.address)
    assert r.refused_connections > 0
    assert "Failed accept4" not in d.log()
    assert d.stop() == 0


def info_or_none(address):
    try:
        with grpc.insecure_channel(address) as ch:
            return lanes_pb2_grpc.LanesStub(ch).Info(lanes_pb2.InfoRequest(), timeout=2)
    except grpc.RpcError:
        return None


def test_max_connections_is_enforced_and_logged(start_daemon):
    d = start_daemon("--max-connections", "3")
    assert info(d.address).max_connections == 3
    socks = [socket.create_connection(("127.0.0.1", d.port), timeout=30) for _ in range(6)]
    try:
        wait_for(lambda: "refusing new connections" in d.log(), "the refusal log line")
        assert "the limit (max_connections) is 3" in d.log()
    finally:
        for s in socks:
            s.close()
    with lanes.Client(d.address) as c:
        assert c.reduce("max", np.arange(5.0)) == 4.0
    assert d.stop() == 0


# ---- calls: limits, idle streams, shutdown ----

def test_streams_held_at_max_calls_never_lock_out_health_and_info(start_daemon):
    d = start_daemon("--max-calls", "2")
    ch = grpc.insecure_channel(d.address)
    held = [HeldStream(ch), HeldStream(ch)]
    wait_for(lambda: info(d.address).active_calls == 2, "two held job calls")
    with pytest.raises(lanes.ResourceExhausted, match="max_calls is 2"):
        with lanes.Client(d.address) as c:
            c.reduce("sum", np.ones(3))
    health = health_pb2_grpc.HealthStub(ch)
    assert health.Check(health_pb2.HealthCheckRequest(service=""), timeout=60).status == \
        health_pb2.HealthCheckResponse.SERVING
    r = info(d.address)
    assert r.active_calls == 2 and r.max_calls == 2
    for h in held:
        h.release()
    for h in held:
        err = h.join()
        assert err is not None and err.code() == grpc.StatusCode.INVALID_ARGUMENT  # a stream without a spec
    wait_for(lambda: info(d.address).active_calls == 0, "the held calls to end")
    with lanes.Client(d.address) as c:
        assert c.reduce("sum", np.ones(3)) == 3.0
    ch.close()
    assert d.stop() == 0


def test_a_stream_that_sends_nothing_is_ended_after_the_idle_timeout(start_daemon):
    d = start_daemon("--idle-timeout-seconds", "1")
    assert info(d.address).idle_timeout_seconds == 1.0
    ch = grpc.insecure_channel(d.address)
    held = HeldStream(ch)
    err = held.join()  # the daemon ends it; the client never releases it
    assert err is not None and err.code() == grpc.StatusCode.DEADLINE_EXCEEDED, err
    assert err.details() == "lanesd ended the call: the client sent nothing for 1 s (idle_timeout_seconds)"
    held.release()
    # A Health Watch sends nothing after its request and is never idle; other calls carry on.
    watch = health_pb2_grpc.HealthStub(ch).Watch(health_pb2.HealthCheckRequest(service=""), timeout=GUARD_S)
    assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
    with lanes.Client(d.address) as c:
        assert c.reduce("sum", np.ones(4)) == 4.0
    watch.cancel()
    ch.close()
    assert d.stop() == 0


def test_sigterm_refuses_new_jobs_then_cancels_with_a_message(start_daemon):
    d = start_daemon("--grace-seconds", "2")
    ch = grpc.insecure_channel(d.address)
    stub = lanes_pb2_grpc.LanesStub(ch)
    health = health_pb2_grpc.HealthStub(ch)
    held = HeldStream(ch)
    wait_for(lambda: info(d.address).active_calls == 1, "the held job call")
    d.proc.send_signal(signal.SIGTERM)
    wait_for(lambda: "draining 1 call(s)" in d.log(), "the drain to begin")
    # During the grace period: a new job on an open connection is refused with a message, health
    # says NOT_SERVING, and Info still answers.
    with pytest.raises(grpc.RpcError) as e:
        stub.ReduceOnce(lanes_pb2.ReduceRequest(), timeout=60)
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    assert e.value.details() == "lanesd is shutting down: it takes no new calls"
    assert health.Check(health_pb2.HealthCheckRequest(service=""), timeout=60).status == \
        health_pb2.HealthCheckResponse.NOT_SERVING
    assert stub.Info(lanes_pb2.InfoRequest(), timeout=60).active_calls == 1
    # The held call outlives the grace period: it is cancelled with a message that says so.
    err = held.join()
    assert err is not None and err.code() == grpc.StatusCode.UNAVAILABLE, err
    assert err.details() == "lanesd is shutting down: the call was cancelled after the 2 s grace period"
    held.release()
    assert d.proc.wait(GUARD_S) == 0
    ch.close()


def test_every_ended_call_leaves_a_debug_line(start_daemon):
    d = start_daemon("--log-level", "debug")
    ch = grpc.insecure_channel(d.address)
    # A client that goes away before its spec arrives.
    held = HeldStream(ch)
    wait_for(lambda: info(d.address).active_calls == 1, "the held job call")
    held.call.cancel()
    held.join()
    held.release()
    wait_for(lambda: re.search(r"call /lanes\.v1\.Lanes/Map from 127\.0\.0\.1:\d+ ended after [\d.]+ ms: "
                               r"the client cancelled it or went away", d.log()), "the cancellation's log line")
    # A refused request: its status and message.
    with pytest.raises(grpc.RpcError):
        lanes_pb2_grpc.LanesStub(ch).ReduceOnce(lanes_pb2.ReduceRequest(), timeout=60)
    wait_for(lambda: re.search(r"call /lanes\.v1\.Lanes/ReduceOnce from 127\.0\.0\.1:\d+ ended after [\d.]+ ms: "
                               r"INVALID_ARGUMENT: ", d.log()), "the refused call's log line")
    ch.close()
    assert d.stop() == 0


def test_a_health_service_name_with_a_nul_byte_is_refused(daemon):
    with grpc.insecure_channel(daemon.address) as ch:
        with pytest.raises(grpc.RpcError) as e:
            health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service="lanes.v1.Lanes\0junk"),
                                                timeout=60)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "HealthCheckRequest.service" in e.value.details() and "NUL" in e.value.details()


def test_cli_info_shows_the_edge_and_memory(daemon, cli_path):
    out = subprocess.run([str(cli_path), "--server", daemon.address, "info"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    r = info(daemon.address)
    assert f"of at most {r.max_connections} connection(s) open" in out.stdout, out.stdout
    assert "memory: " in out.stdout and "document spool(s)" in out.stdout
    js = subprocess.run([str(cli_path), "--server", daemon.address, "info", "--json"], capture_output=True,
                        text=True, timeout=60)
    import json
    doc = json.loads(js.stdout)
    assert doc["max_connections"] == r.max_connections and isinstance(doc["refused_connections"], int)
    assert doc["rss_bytes"] > 0 and doc["idle_timeout_seconds"] == r.idle_timeout_seconds
