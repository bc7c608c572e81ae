"""The explorer on a lab server: behind Debian's nginx at /gradcam/, with a login and the class preset.

One ``python -m demo --host 0.0.0.0 --root-path /gradcam --auth-file ... --class-size 100``
runs behind nginx, configured from the repository's own ``demo/deploy/nginx-gradcam.conf``
(only the ports changed). nginx runs from a folder of the test on a free port, no
system service involved. The auth file's refusals are tested without a server.
"""
from __future__ import annotations

import getpass
import io
import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from demo_support import DATASET, EPOCHS
from page_steps import overlay_src, wait_for_new_overlay

from exercise_logic.explorer.logins import AuthFileError, hash_password, read_auth_file, verify_password

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "demo" / "deploy" / "nginx-gradcam.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
USER, PASSWORD = "student01", "胸部X線-2025"


def nginx_config(folder: Path, listen: int, upstream: int) -> Path:
    """The repository's nginx site with the test's ports, inside a main config of the test's own."""
    site = SITE.read_text(encoding="utf-8")
    for old, new in (("listen 80;", f"listen 127.0.0.1:{listen};"),
                     ("server 127.0.0.1:7860;", f"server 127.0.0.1:{upstream};")):
        assert site.count(old) == 1, f"{SITE.name} no longer has {old!r}"
        site = site.replace(old, new)
    temp = "\n".join(f"  {kind}_temp_path {folder / kind};" for kind in
                     ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    # Run as root (CI), nginx would hand its workers to "nobody", who cannot enter pytest's folders.
    user = f"user {getpass.getuser()};" if os.geteuid() == 0 else ""
    config = folder / "nginx.conf"
    config.write_text(f"""daemon off;
worker_processes 1;
pid {folder / 'nginx.pid'};
error_log {folder / 'error.log'} warn;
{user}
events {{ worker_connections 512; }}
http {{
  access_log {folder / 'access.log'};
{temp}
{site}
}}
""", encoding="utf-8")
    return config


@pytest.fixture(scope="module")
def lab_server(demo_dirs, store, tmp_path_factory):
    """The explorer as a lab server runs it, and nginx in front: yields the page's public URL."""
    if not Path(NGINX).exists():
        pytest.skip("nginx is not installed (apt-get install nginx)")
    from demo.server_process import ServerFailed, free_port, start_demo
    folder = tmp_path_factory.mktemp("lab-server")
    users = folder / "users.txt"
    users.write_text(f"# class of 2025\n{USER}:{hash_password(PASSWORD)}\n", encoding="utf-8")
    env = {"EXERCISE_LOGIC_CACHE": str(demo_dirs["cache"]), "MEDMNIST_ROOT": str(demo_dirs["medmnist"])}
    try:
        app = start_demo(["--host", "0.0.0.0", "--root-path", "/gradcam", "--auth-file", users,
                          "--class-size", 100, "--epochs", EPOCHS, "--dataset", DATASET,
                          "--workdir", folder, "--lang", "en"],
                         log_path=folder / "server.log", env=env)
    except ServerFailed as error:
        pytest.fail(str(error))
    port = free_port()
    nginx = subprocess.Popen([NGINX, "-p", str(folder), "-e", str(folder / "error.log"),
                              "-c", str(nginx_config(folder, port, int(app.url.rsplit(":", 1)[1].strip("/"))))],
                             stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    public = f"http://127.0.0.1:{port}/gradcam/"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(public, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if nginx.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"nginx did not serve {public}:\n{(folder / 'error.log').read_text()}")
            time.sleep(0.2)
        yield public
    finally:
        nginx.terminate()
        nginx.wait(10)
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
