"""Run Debian's nginx with the repository's site file in front of explorer replicas: for tests and benchmarks.

    with running_proxy(folder, [server.url for server in replicas]) as public:
        httpx.get(public)        # http://127.0.0.1:PORT/gradcam/

The site is ``demo/deploy/nginx-gradcam.conf`` as an instructor installs it,
with only the listening port and the replicas' ports changed; nginx runs from
``folder`` (its configuration, logs and temporary files), no system service involved.
"""
from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from demo.server_process import ROOT, free_port

SITE = ROOT / "demo" / "deploy" / "nginx-gradcam.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
INSTALL_HINT = "nginx is not installed (apt-get install nginx)"


class ProxyFailed(RuntimeError):
    """nginx exited or did not serve the page in time; the message ends with its error log."""


def site_config(listen: int, upstream_ports: list[int]) -> str:
    """The repository's site with ``listen`` as its port and one ``server`` line per replica."""
    site = SITE.read_text(encoding="utf-8")
    replicas = "\n".join(f"    server 127.0.0.1:{port};" for port in upstream_ports)
    for old, new in (("listen 80;", f"listen 127.0.0.1:{listen};"),
                     ("    server 127.0.0.1:7860;", replicas)):
        if site.count(old) != 1:
            raise ValueError(f"{SITE} no longer has exactly one {old.strip()!r}")
        site = site.replace(old, new)
    return site


def nginx_config(folder: Path, listen: int, upstream_ports: list[int]) -> Path:
    """A main configuration in ``folder`` around :func:`site_config`; returns its path."""
    temp = "\n".join(f"  {kind}_temp_path {folder / kind};" for kind in
                     ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    # Run as root (CI), nginx would hand its workers to "nobody", who cannot enter the folder.
    user = f"user {getpass.getuser()};" if os.geteuid() == 0 else ""
    config = folder / "nginx.conf"
    config.write_text(f"""daemon off;
worker_processes 1;
pid {folder / 'nginx.pid'};
error_log {folder / 'error.log'} warn;
{user}
events {{ worker_connections 4096; }}
http {{
  access_log {folder / 'access.log'};
{temp}
{site_config(listen, upstream_ports)}
}}
""", encoding="utf-8")
    return config


@contextlib.contextmanager
def running_proxy(folder: Path, upstream_urls: list[str], timeout: float = 30.0):
    """Start nginx in front of ``upstream_urls`` (``http://127.0.0.1:PORT/``); yields the public page URL."""
    if not Path(NGINX).exists():
        raise ProxyFailed(INSTALL_HINT)
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = nginx_config(folder, port, [urlsplit(url).port for url in upstream_urls])
    nginx = subprocess.Popen([NGINX, "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(config)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    public = f"http://127.0.0.1:{port}/gradcam/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(public, timeout=5).status_code in (200, 401):
                    break
            if nginx.poll() is not None or time.monotonic() > deadline:
                log = folder / "error.log"
                raise ProxyFailed(f"nginx did not serve {public}:\n{log.read_text() if log.exists() else ''}")
            time.sleep(0.2)
        yield public
    finally:
        nginx.terminate()
        nginx.wait(10)
