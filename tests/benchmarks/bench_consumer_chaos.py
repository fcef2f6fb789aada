"""Chaos for the custom consumer: killed workers, slow callbacks, emulator outages.

One table (the emulator gives a stream one shard, so three workers contend for
it), a writer putting 600 versioned changes over 30 keys, and three consumer
processes (``Consumer`` with a 2 s lease) behind a TCP proxy. Meanwhile:

* a random worker is SIGKILLed and replaced every 2-3.5 s (seeded);
* 10 % of the batches sleep 6 s in the middle of the callback (3x the lease);
* the emulator's endpoint goes away twice (connections refused, then back):
  1.5 s and 5 s. moto keeps its state only in memory, so the outage is made at
  the proxy: from the consumers' side it is a restart of the service.

Afterwards the stream itself, read from TRIM_HORIZON, is the ground truth.
Figures: written, delivered (distinct, and with repeats), lost, overlapping
deliveries (two workers inside a callback on the shard at the same time),
out-of-order applications (an older version applied after a newer one:
replays after a kill do this), and stale final values (a key whose last
applied version is not its newest: a real stale overwrite, once caught up).
"Lost" counts records at or before the final checkpoint that no callback
ever saw; records after it are "pending": the next start delivers them.

Alone: python tests/benchmarks/run.py bench_consumer_chaos   (bounded, ~50 s)
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

CHANGES, KEYS, SEED = 600, 30, 2026
WORKERS = 3
LEASE = 2.0
SLOW_SHARE, SLOW_SECONDS = 0.1, 6.0
OUTAGES = ((6.0, 1.5), (14.0, 5.0))  # (start after, seconds)
WRITE_SECONDS = 16.0
DEADLINE = 55.0


class Proxy:
    """A TCP forwarder that can refuse connections for a while (an outage)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._server: socket.socket | None = None
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()
        self.up()

    def up(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        for _ in range(100):  # the old listener may take a moment to let the port go
            try:
                server.bind(("127.0.0.1", self.port))
                break
            except OSError:
                time.sleep(0.05)
        else:
            server.bind(("127.0.0.1", self.port))
        server.listen(64)
        self.port = server.getsockname()[1]
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def down(self) -> None:
        with self._lock:
            server, self._server = self._server, None
            connections, self._connections = self._connections, []
        if server is not None:
            with contextlib.suppress(OSError):
                server.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            server.close()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._connections += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 1.0)
                for source in ready:
                    data = source.recv(65536)
                    if not data:
                        return
                    (b if source is a else a).sendall(data)
        except (OSError, ValueError):
            # An outage closes the sockets under this thread: select() then sees a
            # closed one (fd -1, a ValueError) or a read fails; either ends the pipe.
            return
        finally:
            a.close()
            b.close()


def worker_main(endpoint: str, table: str, log_path: str, worker_id: str, seed: int) -> None:
    """One consumer process: applies records, logs every event with a system-wide clock."""
    from cdk_streams.consumer import Consumer

    rng = random.Random(seed)
    log = open(log_path, "a", buffering=1)  # noqa: SIM115 - lives as long as the process

    def event(**fields: Any) -> None:
        log.write(json.dumps({"w": worker_id, "t": time.monotonic(), **fields}) + "\n")

    def callback(records: list[Any]) -> None:
        event(e="start", n=len(records))
        slow = rng.random() < SLOW_SHARE
        for i, record in enumerate(records):
            if slow and i == len(records) // 2:
                time.sleep(SLOW_SECONDS)
            event(
                e="apply",
                k=record.keys["k"],
                v=int(record.new_image["v"]),
                s=record.sequence_number,
            )
        event(e="end")

    consumer = Consumer(
        table,
        lease_table=f"{table}-leases",
        callback=callback,
        worker_id=worker_id,
        batch_size=20,
        lease_duration=LEASE,
        poll_interval=0.1,
        give_up_after=30,
        create_lease_table=True,
        endpoint_url=endpoint,
        region_name="us-east-1",
    )
    consumer.run()


def analyse(
    log_dir: Path, truth: list[tuple[str, int, str]], kills: int, checkpoint: str | None = None
) -> dict[str, Any]:
    events = []
    for path in log_dir.glob("*.log"):
        for line in path.read_text().splitlines():
            # The last line of a killed process may be cut short.
            with contextlib.suppress(json.JSONDecodeError):
                events.append(json.loads(line))
    events.sort(key=lambda e: e["t"])
    # Callback intervals per worker process; a killed one ends at its last event.
    intervals: list[tuple[float, float, str]] = []
    open_at: dict[str, float] = {}
    last_seen: dict[str, float] = {}
    for e in events:
        last_seen[e["w"]] = e["t"]
        if e["e"] == "start":
            open_at[e["w"]] = e["t"]
        elif e["e"] == "end" and e["w"] in open_at:
            intervals.append((open_at.pop(e["w"]), e["t"], e["w"]))
    intervals += [(start, last_seen[w], w) for w, start in open_at.items()]
    intervals.sort()
    overlaps = sum(
        1
        for i, (s1, e1, w1) in enumerate(intervals)
        for s2, _e2, w2 in intervals[i + 1 :]
        if s2 < e1 and w1 != w2
    )
    applies = [e for e in events if e["e"] == "apply"]
    delivered = {e["s"] for e in applies}
    newest_applied: dict[str, int] = {}
    out_of_order = 0
    for e in applies:
        if e["v"] < newest_applied.get(e["k"], -1):
            out_of_order += 1
        newest_applied[e["k"]] = max(newest_applied.get(e["k"], -1), e["v"])
    final: dict[str, int] = {}
    for e in applies:
        final[e["k"]] = e["v"]
    latest: dict[str, int] = {}
    for key, version, _ in truth:
        latest[key] = max(latest.get(key, -1), version)
    missing = {s for _, _, s in truth} - delivered
    # Not delivered yet but after the checkpoint: the next start delivers them.
    pending = {s for s in missing if checkpoint is None or int(s) > int(checkpoint)}
    return {
        "written": len(truth),
        "delivered": len(delivered & {s for _, _, s in truth}),
        "deliveries": len(applies),
        "lost": len(missing - pending),
        "pending after the last checkpoint (delivered at the next start)": len(pending),
        "overlapping deliveries": overlaps,
        "callbacks": len(intervals),
        "out-of-order applications": out_of_order,
        "stale final values": sum(1 for k, v in latest.items() if final.get(k) != v),
        "kills": kills,
    }


def main() -> None:
    from cdk_streams.local import LocalCloud
    from cdk_streams.streams.dynamodb_reader import StreamReader

    rng = random.Random(SEED)
    started = time.monotonic()
    with LocalCloud() as cloud, tempfile.TemporaryDirectory() as tmp:
        ddb = cloud.client("dynamodb")
        table = "chaos"
        ddb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        port = int(cloud.endpoint_url.rsplit(":", 1)[1])
        proxy = Proxy(port)
        endpoint = f"http://localhost:{proxy.port}"
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "LOG_LEVEL": "WARNING",
        }
        processes: dict[int, subprocess.Popen[bytes]] = {}
        names: dict[str, int] = {}
        spawned = 0

        def spawn(slot: int) -> None:
            nonlocal spawned
            spawned += 1
            command = [
                sys.executable,
                __file__,
                "worker",
                endpoint,
                table,
                str(Path(tmp) / f"w{spawned}.log"),
                f"w{spawned}",
                str(SEED + spawned),
            ]
            names[f"w{spawned}"] = slot
            with open(Path(tmp) / f"w{spawned}.err", "w") as err:
                processes[slot] = subprocess.Popen(
                    command, env=env, stdout=subprocess.DEVNULL, stderr=err
                )

        for slot in range(WORKERS):
            spawn(slot)

        versions = {f"key-{i:02d}": 0 for i in range(KEYS)}

        def write() -> None:
            for _ in range(CHANGES):
                key = rng.choice(sorted(versions))
                versions[key] += 1
                ddb.put_item(
                    TableName=table, Item={"k": {"S": key}, "v": {"N": str(versions[key])}}
                )
                time.sleep(WRITE_SECONDS / CHANGES)

        writer = threading.Thread(target=write)
        writer.start()
        kills = holder_kills = 0
        outages = list(OUTAGES)
        next_kill = 2 + rng.uniform(0, 1.5)
        while writer.is_alive() or time.monotonic() - started < WRITE_SECONDS + 4:
            now = time.monotonic() - started
            if outages and now >= outages[0][0]:
                _, seconds = outages.pop(0)
                print(f"  outage of {seconds} s at {now:.1f} s", flush=True)
                proxy.down()
                time.sleep(seconds)
                proxy.up()
            if now >= next_kill:
                slot = rng.randrange(WORKERS)
                with contextlib.suppress(Exception):  # mostly the lease holder: takeovers
                    rows = ddb.scan(TableName=f"{table}-leases")["Items"]
                    owner = rows[0].get("owner", {}).get("S") if rows else None
                    if owner in names and rng.random() < 0.7:
                        slot = names[owner]
                        holder_kills += 1
                processes[slot].send_signal(signal.SIGKILL)
                processes[slot].wait()
                kills += 1
                spawn(slot)
                next_kill = now + rng.uniform(2.0, 3.5)
            time.sleep(0.05)
        writer.join()
        arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
        reader = StreamReader(cloud.client("dynamodbstreams"), arn)
        truth: list[tuple[str, int, str]] = []
        for _ in range(20):
            for shard in reader.read():
                for r in shard.records:
                    image = r["dynamodb"]["NewImage"]
                    truth.append(
                        (image["k"]["S"], int(image["v"]["N"]), r["dynamodb"]["SequenceNumber"])
                    )
        # Let the survivors catch up, then stop them as a supervisor would.
        while time.monotonic() - started < DEADLINE:
            if not analyse(Path(tmp), truth, kills)[
                "pending after the last checkpoint (delivered at the next start)"
            ]:
                break
            time.sleep(0.5)
        for process in processes.values():
            process.send_signal(signal.SIGTERM)
        clean = sum(1 for process in processes.values() if process.wait(timeout=30) == 0)
        proxy.down()
        rows = ddb.scan(TableName=f"{table}-leases", ConsistentRead=True)["Items"]
        checkpoint = rows[0]["checkpoint"]["S"] if rows and "checkpoint" in rows[0] else None
        figures = analyse(Path(tmp), truth, kills, checkpoint)
        figures["kills of the lease holder"] = holder_kills
        errs = [p.read_text() for p in Path(tmp).glob("*.err")]
        figures["AWS calls that met the outage (retry warnings)"] = sum(
            e.count("retrying for up to") for e in errs
        )
        figures["tracebacks in worker output"] = sum(e.count("Traceback") for e in errs)
    seconds = time.monotonic() - started
    print(
        f"settings: {WORKERS} workers on one shard, lease {LEASE} s, {SLOW_SHARE:.0%} of "
        f"callbacks sleep {SLOW_SECONDS} s, outages {[s for _, s in OUTAGES]} s, "
        f"{CHANGES} changes over {KEYS} keys in {WRITE_SECONDS} s"
    )
    for name, value in figures.items():
        print(f"  {name}: {value}")
    print(f"  workers stopped cleanly by SIGTERM (status 0): {clean} of {WORKERS}")
    print(f"  run time: {seconds:.1f} s")
    problems = [name for name in ("lost", "overlapping deliveries") if figures[name]]
    if not figures["pending after the last checkpoint (delivered at the next start)"]:
        problems += ["stale final values"] if figures["stale final values"] else []
    if problems:
        raise RuntimeError("consumer chaos: " + ", ".join(f"{p}={figures[p]}" for p in problems))


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        endpoint, table, log_path, worker_id, seed = sys.argv[2:7]
        worker_main(endpoint, table, log_path, worker_id, int(seed))
    else:
        main()
