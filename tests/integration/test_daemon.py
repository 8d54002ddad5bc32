"""lanesd as a process: configuration, port conflicts, signals, draining, health during shutdown."""
import os
import signal
import subprocess
import threading
import time

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import lanes
from conftest import HANG_GUARD_S, LANESD, wait_for


def run_lanesd(*args, env=None, timeout=HANG_GUARD_S):
    full = dict(os.environ)
    full.update(env or {})
    return subprocess.run([str(LANESD), *args], capture_output=True, text=True, timeout=timeout, env=full)


def test_help_version_and_print_config(lanesd_path):
    r = run_lanesd("--help")
    assert r.returncode == 0 and "--inline-threshold" in r.stdout and "LANES_" in r.stdout
    r = run_lanesd("--version")
    assert r.returncode == 0 and r.stdout.startswith("lanesd ")
    r = run_lanesd("--print-config", "--chunk-bytes", "64KiB", env={"LANES_THREADS": "3"})
    assert r.returncode == 0
    assert "chunk_bytes = 65536" in r.stdout and "threads = 3" in r.stdout
    assert 'listen = "127.0.0.1:50051"' in r.stdout


def test_config_precedence_file_env_flags(tmp_path, lanesd_path):
    conf = tmp_path / "lanes.conf"
    conf.write_text("# comment\nthreads = 1\ncq_threads = 3\nlog_level = debug\n")
    r = run_lanesd("--config", str(conf), "--print-config", "--cq-threads=4", env={"LANES_THREADS": "2"})
    assert r.returncode == 0, r.stderr
    assert "threads = 2" in r.stdout and "cq_threads = 4" in r.stdout and "log_level = debug" in r.stdout


@pytest.mark.parametrize("args,env,text", [
    (["--chunk-bytes", "12"], {}, "option --chunk-bytes: chunk_bytes: 12 is below the minimum 4096"),
    (["--threads", "lots"], {}, "'lots' is not an integer"),
    (["--no-such-key", "1"], {}, "unknown option '--no-such-key'"),
    ([], {"LANES_GRACE_SECONDS": "soon"}, "environment LANES_GRACE_SECONDS: grace_seconds: 'soon' is not a number"),
    (["--log-level", "loud"], {}, "'loud' is not one of error, warn, info, debug"),
    (["--inline-threshold", "1.5"], {}, "not a byte count"),
])
def test_bad_configuration_is_fatal_and_named(lanesd_path, args, env, text):
    r = run_lanesd(*args, env=env)
    assert r.returncode == 2
    assert text in r.stderr, r.stderr


def test_bad_config_file_names_the_line(tmp_path, lanesd_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("threads = 2\n\nmax_calls = -5\n")
    r = run_lanesd("--config", str(conf))
    assert r.returncode == 2
    assert f"config file {conf} line 3: max_calls: -5 is below the minimum 1" in r.stderr
    conf.write_text("threads 2\n")
    r = run_lanesd("--config", str(conf))
    assert r.returncode == 2 and "line 1: expected 'key = value'" in r.stderr
    r = run_lanesd("--config", str(tmp_path / "missing.conf"))
    assert r.returncode == 2 and "cannot open" in r.stderr


def test_calibrate_writes_the_file_the_daemon_starts_with(tmp_path, start_daemon):
    cal = tmp_path / "cal.txt"
    r = run_lanesd("--calibrate", str(cal), "--threads", "2", timeout=300)
    assert r.returncode == 0, r.stderr
    assert "map     inline" in r.stdout and "text    cuda" in r.stdout and f"wrote {cal}" in r.stdout
    text = cal.read_text()
    assert "cpu_threads = 2\n" in text and "\nmap.cpu = " in text and "\nacf.cuda = 25000 20\n" in text
    d = start_daemon("--calibration-file", str(cal))
    with lanes.Client(d.address) as c:
        model = c.info()["router_model"]
        assert model.startswith(f"calibration file {cal} (lanesd --calibrate, "), model
        assert "; map: inline " in model and "now: 0 cpu thread(s) reserved" in model
        c.map("square", np.ones(100_000))
        assert f"model: calibration file {cal}" in c.last_summary["reason"]
    assert d.stop() == 0
    assert "router cost model: calibration file" in d.log()


def test_bad_calibration_file_is_fatal_and_named(tmp_path):
    cal = tmp_path / "cal.txt"
    cal.write_text("# lanes\ncpu_threads = 2\nmap.cpu = 20000 fast\n")
    r = run_lanesd("--calibration-file", str(cal), "--listen", "127.0.0.1:0")
    assert r.returncode == 2
    assert f"calibration file {cal} line 3: map.cpu: '20000 fast' is not 'overhead_ns bytes_per_ns'" in r.stderr
    r = run_lanesd("--calibration-file", str(tmp_path / "none.txt"), "--listen", "127.0.0.1:0")
    assert r.returncode == 2 and "cannot open" in r.stderr


def test_calibrate_at_start_and_defaults(start_daemon):
    d = start_daemon("--calibrate-at-start", "1")
    with lanes.Client(d.address) as c:
        assert c.info()["router_model"].startswith("start-up calibration, "), c.info()["router_model"]
    assert d.stop() == 0
    d = start_daemon()
    with lanes.Client(d.address) as c:
        assert c.info()["router_model"].startswith("built-in defaults; cpu_threads 2; map: inline ")
        with pytest.raises(lanes.FailedPrecondition, match="backend 'cuda' is not available"):
            c.map("square", np.ones(10), backend="cuda")
    assert d.stop() == 0


def test_second_daemon_on_a_taken_port_fails_clearly(start_daemon):
    first = start_daemon()
    r = run_lanesd("--listen", first.address)
    assert r.returncode == 1
    assert f"cannot listen on {first.address}" in r.stderr
    with lanes.Client(first.address) as c:  # the first is unharmed
        assert c.health() == "SERVING"
    assert first.stop() == 0


def test_log_lines_carry_time_level_and_pid(start_daemon):
    d = start_daemon()
    assert d.stop() == 0
    line = next(l for l in d.log().splitlines() if "listening on" in l)
    # 2026-11-21T10:35:00.123Z INFO  [1234] lanesd 0.1.0 listening on ...
    stamp, level, pid = line.split()[:3]
    assert stamp.endswith("Z") and "T" in stamp and level == "INFO" and pid == f"[{d.proc.pid}]"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_drains_in_flight_calls_then_exits_0(start_daemon, sig):
    d = start_daemon("--grace-seconds", "60")
    x = np.ones(200_000)
    result = {}
    first_reply = threading.Event()

    def slow_stream():
        def chunks():
            yield x
            first_reply.wait(HANG_GUARD_S)  # the call is in flight: a reply came back
            d.wait_log("draining 1 call(s)")  # the daemon saw the signal while the call was running
            for i in range(39):
                yield x
        try:
            with lanes.Client(d.address) as c:
                n = 0
                for part in c.map_iter("square", chunks()):
                    n += part.size
                    first_reply.set()
                result["n"] = n
        except Exception as e:  # noqa: BLE001
            result["error"] = e
        first_reply.set()

    t = threading.Thread(target=slow_stream)
    t.start()
    assert first_reply.wait(HANG_GUARD_S) and "error" not in result, result
    d.proc.send_signal(sig)
    t.join(HANG_GUARD_S)
    assert d.proc.wait(HANG_GUARD_S) == 0
    assert result.get("n") == 40 * x.size, result
    assert "draining 1 call(s)" in d.log() and "stopped" in d.log()


def test_calls_past_the_grace_period_are_cancelled(start_daemon):
    # The stream never ends, so the daemon can exit (at all) only by cancelling it after the grace
    # period; the log says when it did. The time it took is not measured: a busy machine would decide.
    d = start_daemon("--grace-seconds", "0.5")
    outcome = {}
    replied = threading.Event()

    def endless():
        def chunks():
            while True:
                time.sleep(0.02)  # paces the endless stream; nothing waits on it
                yield np.ones(1000)
        try:
            with lanes.Client(d.address) as c:
                for _ in c.map_iter("square", chunks()):
                    replied.set()
        except lanes.Error as e:
            outcome["code"] = e.code
        replied.set()

    t = threading.Thread(target=endless)
    t.start()
    assert replied.wait(HANG_GUARD_S) and not outcome, outcome  # the call is in flight
    d.proc.send_signal(signal.SIGTERM)
    assert d.proc.wait(HANG_GUARD_S) == 0
    t.join(HANG_GUARD_S)
    assert outcome.get("code") in (grpc.StatusCode.CANCELLED, grpc.StatusCode.UNAVAILABLE), outcome
    assert "grace period over: cancelling" in d.log()


def test_health_watch_sees_not_serving_at_shutdown(start_daemon):
    d = start_daemon("--grace-seconds", "5")
    ch = grpc.insecure_channel(d.address)
    stub = health_pb2_grpc.HealthStub(ch)
    statuses = []
    watch = stub.Watch(health_pb2.HealthCheckRequest(service=""), timeout=30)
    unknown = stub.Watch(health_pb2.HealthCheckRequest(service="other"), timeout=30)
    first = next(watch)
    statuses.append(first.status)
    assert next(unknown).status == health_pb2.HealthCheckResponse.SERVICE_UNKNOWN
    d.proc.send_signal(signal.SIGTERM)
    with pytest.raises(grpc.RpcError) as e:
        for r in watch:
            statuses.append(r.status)
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    assert statuses == [health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING]
    with pytest.raises(grpc.RpcError):
        for _ in unknown:
            pass
    assert d.proc.wait(30) == 0
    ch.close()


def test_calls_cancelled_as_they_arrive_never_linger(start_daemon):
    """Clients whose deadline expires while the call is being set up (a race between gRPC's cancel
    notice and the handler's start): every such call must still end, so shutdown finds none."""
    # A call that lingers would hold the daemon for the whole grace period and then be cancelled:
    # the log says so. The grace period is long enough for calls that do end to end on a busy machine.
    d = start_daemon("--grace-seconds", "20")
    x = np.ones(300_000)
    with lanes.Client(d.address) as c:
        for k in range(300):
            try:
                for _ in c.map_iter("square", iter([x, x]), timeout=0.0005 * (1 + k % 5)):
                    pass
            except lanes.Error:
                pass  # DEADLINE_EXCEEDED, or it finished in time
        assert c.reduce("sum", np.ones(4)) == 4.0
    assert d.stop() == 0
    log = d.log()
    assert "grace period over" not in log and "live call" not in log, log[-2000:]
