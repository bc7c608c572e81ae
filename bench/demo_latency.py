"""How fast is the Grad-CAM explorer? Latency of its ``explain`` API over raw HTTP.

Starts ``python -m demo`` on a free port (with a cached model: it is trained
first if missing) and measures:

1. cold start: process start -> first answered ``explain`` request;
2. 100 sequential requests over the raw HTTP API (POST
   ``/gradio_api/call/explain``, then read the event stream): p50 / p95; the
   server computes an identical request once, so also 20 requests with a new
   setting each (computed every time);
3. concurrent clients (20, or a class: ``--clients 100``) x 10 requests, each
   downloading and fully decoding its overlay PNG: errors, truncated images,
   p50 / p95 (target: 1 s for 20 clients, 2 s for more), and the CPU time the
   server processes and the clients took meanwhile.

``--replicas N`` runs N servers behind Debian's nginx with the repository's
``demo/deploy/nginx-gradcam.conf`` (the README's recipe for a lab server with N
cores); each client then comes from its own address (127.0.0.2, 127.0.0.3, ...),
as students' computers do, so that the proxy spreads them over the replicas.

What runs where: the server is its own process; the clients are threads of
this process, on the same cores (in class, the students' browsers run on
their own machines). Each client stands for one student's browser tab: it
keeps one Gradio session (``session_hash``) for all its requests, sends the
same image as the others (a gallery sample the whole class clicks; each client
uploads it once, untimed), and does the full HTTP work of a request: POST the
call, read its event stream to the end, download the overlay and decode it completely.

Beside each figure it prints what the engine itself takes for the same call,
in this process (``cam_engine(...).explain`` on the same image, and the whole
handler with preprocessing, rendering and the PNG), so the UI's overhead is
visible. ``gradio_client`` is not used for timing: it polls for ~200 ms per call.

Usage (from the repository root)::

    .venv/bin/python bench/demo_latency.py
    .venv/bin/python bench/demo_latency.py --requests 100 --clients 20 --per-client 10
    .venv/bin/python bench/demo_latency.py --clients 100 --class-size 100   # a class, with the preset
    .venv/bin/python bench/demo_latency.py --clients 100 --class-size 100 --replicas 2   # one per core
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.update(GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1",
                  TF_CPP_MIN_LOG_LEVEL="2")

import httpx
import numpy as np
from PIL import Image

from demo.proxy_process import running_proxy
from demo.server_process import start_demo


def percentiles(seconds) -> str:
    values = np.asarray(seconds) * 1000
    return (f"p50 {np.percentile(values, 50):7.1f} ms  p95 {np.percentile(values, 95):7.1f} ms  "
            f"max {values.max():7.1f} ms  (n={len(values)})")


def upload(http: httpx.Client, base: str, path: Path) -> str:
    with open(path, "rb") as handle:
        return http.post(f"{base}gradio_api/upload", files={"files": handle}).json()[0]


def student_address(number: int) -> str:
    """A loopback address of its own for client ``number`` (all of 127/8 reaches this machine)."""
    return f"127.0.{(number + 2) // 256}.{(number + 2) % 256}"


def replica_of(picture: str) -> str:
    """Which replica drew a picture: its ``work-N`` folder is in the picture's path."""
    return next((part for part in Path(picture).parts if part.startswith("work-")), "?")


def call_explain(http: httpx.Client, base: str, uploaded: str, layer: str, session: str,
                 opacity: float = 0.4) -> dict:
    """One raw API call: POST, then read the event stream to its end. Returns the overlay FileData.

    ``session`` is the client's session hash: like a student's browser tab, each
    client keeps one Gradio session for all its requests.
    """
    payload = {"data": [{"path": uploaded, "meta": {"_type": "gradio.FileData"}},
                        "predicted", layer, "gradcam", opacity], "session_hash": session}
    response = http.post(f"{base}gradio_api/call/explain", json=payload)
    response.raise_for_status()
    stream = http.get(f"{base}gradio_api/call/explain/{response.json()['event_id']}").text
    lines = stream.splitlines()
    if "event: complete" not in lines:
        raise RuntimeError(f"no result: {stream[:300]!r}")
    return json.loads(lines[lines.index("event: complete") + 1][len("data: "):])[1]


def complete_png(body: bytes) -> bool:
    try:
        with Image.open(io.BytesIO(body)) as image:
            image.load()
            return image.format == "PNG" and image.size == (224, 224)
    except Exception:  # noqa: BLE001 - a truncated or empty file
        return False


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far, all its threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def servers_cpu_seconds(servers) -> float:
    return sum(process_cpu_seconds(server.process.pid) for server in servers)


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="synthetic-28")
    parser.add_argument("--model", default="simple")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--per-client", type=int, default=10)
    parser.add_argument("--class-size", type=int, default=None,
                        help="start the server with `python -m demo --class-size N` (the class preset)")
    parser.add_argument("--replicas", type=int, default=None,
                        help="N servers behind nginx with demo/deploy/nginx-gradcam.conf (default: one, no proxy)")
    parser.add_argument("--settle", type=float, default=5.0,
                        help="seconds to wait after the first answer (background warm-up)")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="demo-bench-"))
    try:
        run(args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run(args, scratch: Path) -> None:
    name, size = args.dataset.rsplit("-", 1)

    # -- the model must be cached, so that the cold start measures loading only ------------
    print(f"[bench] machine: {os.cpu_count()} CPUs; dataset {args.dataset}, model {args.model}, "
          f"{args.epochs} epochs; server settings: "
          f"{f'--class-size {args.class_size}' if args.class_size else 'default'}"
          f"{f'; {args.replicas} replicas behind nginx' if args.replicas else ''}", flush=True)
    # ... and the image is a test sample as students click it, exported as a PNG. Both are
    # done in a child process, so that this one imports no TensorFlow during the cold start.
    image_path = scratch / "sample.png"
    script = (
        "import numpy as np, exercise_logic as el; from PIL import Image;"
        f"t = el.train_or_load({name!r}, {args.model!r}, size={size}, epochs={args.epochs}, progress=False);"
        "x = t.dataset.test.images[0, :, :, 0];"
        f"Image.fromarray(np.round(x * 255).astype(np.uint8)).save({str(image_path)!r});"
        "print(el.conv_layer_names(t.model)[-1])")
    prepare = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             check=True, cwd=ROOT)
    layer = prepare.stdout.split()[-1]

    # -- 1. cold start ----------------------------------------------------------
    preset = ["--class-size", args.class_size] if args.class_size else []
    proxied = args.replicas is not None
    with contextlib.ExitStack() as stack:
        servers = []
        for number in range(args.replicas or 1):
            server = start_demo(["--dataset", args.dataset, "--model", args.model, "--epochs", args.epochs,
                                 "--workdir", scratch / f"work-{number}", *preset,
                                 *(["--root-path", "/gradcam"] if proxied else [])],
                                log_path=scratch / f"server-{number}.log", wait=False)
            stack.callback(server.stop)
            servers.append(server)
        for server in servers:
            server.wait_until_ready()
        ready = servers[0].ready_after
        base = stack.enter_context(running_proxy(scratch / "nginx", [s.url for s in servers])) if proxied \
            else servers[0].url
        http, session = stack.enter_context(httpx.Client(timeout=60)), secrets.token_hex(8)
        uploaded = upload(http, base, image_path)
        call_explain(http, base, uploaded, layer, session)
        first_answer = time.perf_counter() - servers[0].started

        # -- 2. sequential raw API --------------------------------------------------
        # Steady state: the app traces its other CAM methods in the background after start.
        time.sleep(args.settle)
        for _ in range(5):
            call_explain(http, base, uploaded, layer, session)
        sequential = []
        for _ in range(args.requests):
            begin = time.perf_counter()
            call_explain(http, base, uploaded, layer, session)
            sequential.append(time.perf_counter() - begin)
        # The server computes an identical request once: a new setting each time is never cached.
        uncached = []
        for number in range(20):
            begin = time.perf_counter()
            call_explain(http, base, uploaded, layer, session, opacity=0.5 + number / 100)
            uncached.append(time.perf_counter() - begin)
        with_download = []
        for _ in range(20):
            begin = time.perf_counter()
            overlay = call_explain(http, base, uploaded, layer, session)
            http.get(overlay["url"]).raise_for_status()
            with_download.append(time.perf_counter() - begin)

        # -- 3. concurrent clients, identical requests --------------------------------
        latencies, errors, truncated = [], [], [0]
        served_by = collections.Counter()
        lock = threading.Lock()
        everyone_ready = threading.Barrier(args.clients + 1)

        def client_loop(number: int):
            session = secrets.token_hex(8)  # one student's browser tab, on the student's computer
            transport = httpx.HTTPTransport(local_address=student_address(number))
            with httpx.Client(timeout=120, transport=transport) as own:
                try:
                    own_upload = upload(own, base, image_path)   # on the replica this student is sent to
                except Exception as error:  # noqa: BLE001 - each of its requests counts as an error
                    with lock:
                        errors.extend([f"upload: {error!r}"[:200]] * args.per_client)
                    own_upload = None
                everyone_ready.wait()
                if own_upload is None:
                    return
                for _ in range(args.per_client):
                    begin = time.perf_counter()
                    try:
                        overlay = call_explain(own, base, own_upload, layer, session)
                        body = own.get(overlay["url"]).content
                        ok = complete_png(body)
                    except Exception as error:  # noqa: BLE001
                        with lock:
                            errors.append(repr(error)[:200])
                        continue
                    with lock:
                        latencies.append(time.perf_counter() - begin)
                        truncated[0] += not ok
                        served_by[replica_of(overlay["path"])] += 1

        print(f"[bench] {args.clients} concurrent clients x {args.per_client} requests", flush=True)
        threads = [threading.Thread(target=client_loop, args=(number,)) for number in range(args.clients)]
        for thread in threads:
            thread.start()
        everyone_ready.wait()
        begin = time.perf_counter()
        server_cpu, client_cpu = servers_cpu_seconds(servers), own_cpu_seconds()
        for thread in threads:
            thread.join()
        concurrent_wall = time.perf_counter() - begin
        server_cpu = servers_cpu_seconds(servers) - server_cpu
        client_cpu = own_cpu_seconds() - client_cpu

    # -- the engine itself, in this process, on the same image ---------------------------
    begin = time.perf_counter()
    os.environ.setdefault("GRADIO_TEMP_DIR", str(scratch / "gradio"))
    import exercise_logic as el
    from exercise_logic.explorer import handlers as h
    from exercise_logic.explorer.model_store import ModelStore
    from exercise_logic.explorer.output_files import OutputFiles
    store = ModelStore(scratch / "inproc", epochs=args.epochs)
    loaded = store.get(args.dataset, args.model)
    engine_cold = time.perf_counter() - begin
    for thread in threading.enumerate():
        if thread.name.startswith("warm-up"):
            thread.join()
    image = h.read_upload(loaded, str(image_path))
    engine = el.cam_engine(loaded.model, layer, "gradcam")
    for _ in range(5):
        engine.explain(image)
    engine_times, handler_times = [], []
    for _ in range(args.requests):
        begin = time.perf_counter()
        engine.explain(image)
        engine_times.append(time.perf_counter() - begin)
    outputs = OutputFiles(scratch / "inproc" / "out")
    for _ in range(args.requests):
        begin = time.perf_counter()
        h.explain_api(loaded, outputs, str(image_path), "predicted", layer, "gradcam", 0.4)
        handler_times.append(time.perf_counter() - begin)

    total = args.clients * args.per_client
    print()
    print(f"cold start (process start -> first answer): {first_answer:6.2f} s   "
          f"(HTTP ready {ready:.2f} s; in-process: import gradio + TensorFlow, load the model, "
          f"trace Grad-CAM on every layer {engine_cold:.2f} s)")
    print(f"sequential raw API, {args.requests} requests: {percentiles(sequential)}")
    print(f"    engine.explain, same image:           {percentiles(engine_times)}")
    print(f"    whole handler (read, explain, PNG):    {percentiles(handler_times)}")
    print(f"    raw API + overlay download:            {percentiles(with_download)}")
    print(f"    raw API, a new setting each time (computed, not cached): {percentiles(uncached)}")
    print(f"concurrent {args.clients} clients x {args.per_client}: {percentiles(latencies) if latencies else '-'}")
    print(f"    errors {len(errors)}/{total}, truncated or invalid PNGs {truncated[0]}/{total}, "
          f"{total / concurrent_wall:.1f} requests/s over {concurrent_wall:.1f} s")
    print(f"    engine.explain for the same call:     {percentiles(engine_times)}")
    print(f"    CPU during this phase: server{'s' if len(servers) > 1 else ''} {server_cpu:.1f} s ({1000 * server_cpu / total:.1f} ms/request), "
          f"clients {client_cpu:.1f} s ({1000 * client_cpu / total:.1f} ms/request), "
          f"of {os.cpu_count() * concurrent_wall:.1f} CPU-s available")
    if proxied:
        print("    requests per replica:", ", ".join(f"{name} {count}" for name, count in sorted(served_by.items())))
    if errors:
        print("    first errors:", *errors[:3], sep="\n      ")
    # A small group (20) should wait under a second, a whole class (100) under two.
    limit = 1.0 if args.clients <= 20 else 2.0
    targets = {"sequential p95 <= 100 ms": np.percentile(sequential, 95) <= 0.100,
               f"concurrent p95 <= {limit:g} s, no errors or truncation":
                   bool(latencies) and np.percentile(latencies, 95) <= limit and not errors and not truncated[0],
               "cold start <= 15 s": first_answer <= 15.0}
    for name, met in targets.items():
        print(f"target {name}: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
