"""The explorer on a lab server: behind Debian's nginx at /gradcam/, with a login and the class preset.

One ``python -m demo --host 0.0.0.0 --root-path /gradcam --auth-file ... --class-size 100``
runs behind nginx, configured from the repository's own ``demo/deploy/nginx-gradcam.conf``
(only the ports changed; ``demo/proxy_process.py``). Two replicas started by
``demo/deploy/replicas.sh`` behind one nginx keep each student on one replica.
The auth file's refusals are tested without a server.
"""
from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from demo_support import DATASET, EPOCHS, MODEL, raw_explain, upload
from page_steps import overlay_src, wait_for_new_overlay

from demo.proxy_process import INSTALL_HINT, NGINX, ProxyFailed, running_proxy
from demo.server_process import ServerFailed, free_port, start_demo
from exercise_logic.explorer.logins import AuthFileError, hash_password, read_auth_file, verify_password

USER, PASSWORD = "student01", "胸部X線-2025"


def _cache_env(demo_dirs) -> dict[str, str]:
    return {"EXERCISE_LOGIC_CACHE": str(demo_dirs["cache"]), "MEDMNIST_ROOT": str(demo_dirs["medmnist"])}


@pytest.fixture(scope="module")
def lab_server(demo_dirs, store, tmp_path_factory):
    """The explorer as a lab server runs it, and nginx in front: yields the page's public URL."""
    if not Path(NGINX).exists():
        pytest.skip(INSTALL_HINT)
    folder = tmp_path_factory.mktemp("lab-server")
    users = folder / "users.txt"
    users.write_text(f"# class of 2025\n{USER}:{hash_password(PASSWORD)}\n", encoding="utf-8")
    try:
        app = start_demo(["--host", "0.0.0.0", "--root-path", "/gradcam", "--auth-file", users,
                          "--class-size", 100, "--epochs", EPOCHS, "--dataset", DATASET,
                          "--workdir", folder, "--lang", "en"],
                         log_path=folder / "server.log", env=_cache_env(demo_dirs))
    except ServerFailed as error:
        pytest.fail(str(error))
    try:
        with running_proxy(folder / "nginx", [app.url]) as public:
            yield public
    except ProxyFailed as error:
        pytest.fail(str(error))
    finally:
        app.stop()


def test_the_page_logs_in_and_computes_a_map_with_every_request_under_the_sub_path(browser, lab_server,
                                                                                    image_files):
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 1800})
    context.set_default_timeout(30_000)
    requests: list[str] = []
    try:
        page = context.new_page()
        page.on("request", lambda request: requests.append(request.url))
        page.goto(lab_server)
        page.get_by_text("Log in with the name and password your instructor gave you").wait_for()

        for password in ("wrong password", PASSWORD):
            page.get_by_label("username").fill(USER)
            page.get_by_label("password").fill(password)
            page.get_by_role("button", name="Login").click()
            if password != PASSWORD:
                page.get_by_text("Incorrect Credentials", exact=False).wait_for()
        shown = wait_for_new_overlay(page, None)                  # the page opens on a sample's map
        assert shown.startswith(lab_server)
        # An upload over nginx's default 1 MB body limit: the site config raises it to the app's.
        assert image_files["large_rgb.png"].stat().st_size > 1 << 20
        page.set_input_files("#input-image input[type=file]", str(image_files["large_rgb.png"]))
        assert wait_for_new_overlay(page, shown).startswith(lab_server)
        assert overlay_src(page) != shown
    finally:
        context.close()
    assert any("/gradcam/gradio_api/queue/join" in url for url in requests)
    assert any("/gradcam/gradio_api/upload" in url for url in requests)
    outside = [url for url in requests if not url.startswith((lab_server, "data:", "blob:"))]
    assert outside == []


def test_the_api_refuses_a_wrong_password_and_accepts_the_right_one(lab_server):
    with httpx.Client(base_url=lab_server, timeout=30) as http:
        assert http.get("config").status_code == 401                  # nothing without a login
        assert http.get("gradio_api/info").status_code == 401
        for user, password in ((USER, "wrong password"), ("nobody", PASSWORD), (USER, "")):
            refused = http.post("login", data={"username": user, "password": password})
            assert refused.status_code in (400, 422), (user, password)
        assert http.get("config").status_code == 401
        assert http.post("login", data={"username": USER, "password": PASSWORD}).status_code == 200
        assert http.get("config").json()["root"] == lab_server.rstrip("/")
        assert "/explain" in http.get("gradio_api/info").json()["named_endpoints"]


# -- replicas: more than one server process behind one nginx -------------------------------

ROOM = [f"127.0.0.{host}" for host in range(2, 18)]   # 16 students' computers on one /24 network


REPLICAS_SH = Path(__file__).resolve().parents[2] / "demo" / "deploy" / "replicas.sh"


def _two_free_ports() -> int:
    """A free port whose next port is free too."""
    while True:
        port = free_port()
        with contextlib.suppress(OSError), socket.socket() as probe:
            probe.bind(("127.0.0.1", port + 1))
            return port


def _answers(url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(url + "gradio_api/info", timeout=2).status_code == 200
    return False


@pytest.fixture(scope="module")
def two_replicas(demo_dirs, store, tmp_path_factory):
    """``demo/deploy/replicas.sh 2 PORT ...`` behind one nginx, as the README's recipe runs them.

    Yields the public URL, the script's process and the replicas' URLs.
    """
    if not Path(NGINX).exists():
        pytest.skip(INSTALL_HINT)
    folder = tmp_path_factory.mktemp("replicas")
    port = _two_free_ports()
    urls = [f"http://127.0.0.1:{port + number}/" for number in range(2)]
    log = folder / "replicas.log"
    with open(log, "wb") as output:
        script = subprocess.Popen(
            ["bash", str(REPLICAS_SH), "2", str(port), "--root-path", "/gradcam", "--class-size", "100",
             "--epochs", str(EPOCHS), "--dataset", DATASET, "--workdir", str(folder / "work"), "--lang", "en"],
            cwd=REPLICAS_SH.parents[2], env={**os.environ, **_cache_env(demo_dirs), "PYTHON": sys.executable},
            stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while not all(_answers(url) for url in urls):
            if script.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the replicas did not start:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.5)
        with running_proxy(folder / "nginx", urls) as public:
            yield public, script, urls
    except ProxyFailed as error:
        pytest.fail(str(error))
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(script.pid, signal.SIGKILL)
        script.wait()


def test_replicas_keep_each_student_on_one_and_share_out_a_computer_room(two_replicas, image_files):
    """Each student's upload, explanation and picture stay on one replica (another would refuse the
    uploaded file and not have the picture), and one room's students reach both replicas."""
    public, _, urls = two_replicas
    replica_of = {}
    for address in ROOM:
        transport = httpx.HTTPTransport(local_address=address)
        with httpx.Client(transport=transport, timeout=60) as http:
            uploaded = upload(http, public, image_files["sample.png"])
            picture, body = raw_explain(http, public, uploaded)
            assert body.startswith(b"\x89PNG")
            (uploaded_in,) = {part for part in Path(uploaded).parts if part.startswith("run-")}
            (drawn_in,) = {part for part in Path(picture).parts if part.startswith("run-")}
            assert uploaded_in == drawn_in, address
            replica_of[address] = drawn_in
    assert len(set(replica_of.values())) == len(urls), replica_of


def test_the_replica_script_stops_every_replica_on_sigterm(two_replicas):
    _, script, urls = two_replicas
    script.send_signal(signal.SIGTERM)               # to the script only, as a service manager does
    assert script.wait(60) == 0
    assert not any(_answers(url) for url in urls)


def test_the_replica_script_refuses_a_bad_command_line():
    for arguments in ([], ["2"], ["two", "7860"], ["2", "port"], ["0", "7860"]):
        refused = subprocess.run(["bash", str(REPLICAS_SH), *arguments], capture_output=True, text=True)
        assert refused.returncode == 2 and "usage" in refused.stderr, arguments


def test_a_busy_server_never_rebuilds_gradios_monitoring_summary(store, outputs, image_files):
    """Gradio's queue would summarise its last 10,000 events with pandas after every event, for a
    monitoring page the app keeps off; the app's variables turn that off."""
    from exercise_logic.explorer import environment
    environment.set_app_variables()
    from exercise_logic.explorer.app import build_app, class_preset, launch_options
    from exercise_logic.explorer.sources import KitModels

    demo = build_app(KitModels(store, DATASET, MODEL), outputs, queue=class_preset(100))
    demo.launch(**launch_options(outputs.folder.parent, outputs.folder, port=free_port()), prevent_thread_lock=True)
    try:
        with httpx.Client(timeout=60) as http:
            uploaded = upload(http, demo.local_url, image_files["sample.png"])
            for _ in range(3):
                raw_explain(http, demo.local_url, uploaded)
        assert demo._queue.events_recorded >= 3
        assert demo._queue.cached_event_analytics_summary == {"functions": {}}
    finally:
        demo.close()


# -- the auth file and its command, without a server ------------------------------------------

def test_a_hash_matches_only_its_password_and_each_has_its_own_salt():
    encoded = hash_password(PASSWORD)
    assert encoded.startswith("scrypt$") and PASSWORD not in encoded
    assert verify_password(PASSWORD, encoded)
    assert not verify_password(PASSWORD + " ", encoded)
    assert hash_password(PASSWORD) != encoded


GOOD_HASH = hash_password("x")


@pytest.mark.parametrize("content, line, problem", [
    ("alice " + GOOD_HASH, 1, "not 'user:hash'"),
    ("# users\n\n:" + GOOD_HASH, 3, "not 'user:hash'"),
    ("alice:secret", 1, "bad hash"),                                           # a plain password
    ("alice:" + GOOD_HASH[:-8] + "!!!!!!!=", 1, "bad hash"),                   # damaged base64
    ("alice:" + GOOD_HASH.replace("$16384$", "$1000$"), 1, "bad hash"),         # n not a power of 2
    (f"alice:{GOOD_HASH}\nalice:{GOOD_HASH}", 2, "appears twice"),
], ids=["no-colon", "no-user", "plain-password", "damaged", "bad-cost", "duplicate"])
def test_a_malformed_line_is_refused_naming_the_file_the_line_and_the_fix(tmp_path, content, line, problem):
    path = tmp_path / "users.txt"
    path.write_text(content + "\n", encoding="utf-8")
    with pytest.raises(AuthFileError) as refused:
        read_auth_file(path)
    message = str(refused.value)
    assert str(path) in message and f"line {line}" in message and problem in message
    assert "python -m demo hash-password" in message


@pytest.mark.parametrize("content", [None, "", "# nobody yet\n", b"\xff\xfe"], ids=["missing", "empty",
                                                                                     "comments-only", "binary"])
def test_a_missing_empty_or_unreadable_file_is_refused(tmp_path, content):
    path = tmp_path / "users.txt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(AuthFileError, match=str(path)):
        read_auth_file(path)


def test_the_launcher_stops_on_a_bad_auth_file_before_starting(tmp_path, capsys):
    from demo.__main__ import main
    path = tmp_path / "users.txt"
    path.write_text("alice:plain-password\n", encoding="utf-8")
    with pytest.raises(SystemExit) as stopped:
        main(["--auth-file", str(path), "--workdir", str(tmp_path / "work")])
    assert f"{path}, 1 行目 / line 1" in str(stopped.value) and "hash-password" in str(stopped.value)
    assert not (tmp_path / "work").exists()          # nothing started


def test_hash_password_prints_a_line_the_auth_file_accepts(tmp_path, monkeypatch, capsys):
    from demo.__main__ import main
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))   # piped, as in a script
    main(["hash-password", USER])
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{USER}:scrypt$") and PASSWORD not in line
    (tmp_path / "users.txt").write_text(line + "\n", encoding="utf-8")
    assert verify_password(PASSWORD, read_auth_file(tmp_path / "users.txt")[USER])

    for user, typed in (("a:b", PASSWORD), (USER, "")):
        monkeypatch.setattr("sys.stdin", io.StringIO(typed + "\n"))
        with pytest.raises(SystemExit):
            main(["hash-password", user])
