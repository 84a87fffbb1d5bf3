"""A real PostgreSQL server for the archive tests, started on loopback and removed after.

Debian's ``postgresql`` package puts the server in ``/usr/lib/postgresql/N/bin``.
``initdb`` refuses to run as root, so as root the cluster is created and run as
the ``postgres`` system user, in a temporary folder it owns. Trust authentication
on 127.0.0.1 and a free port: nothing outside the test process can reach it.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def server_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: len(p))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    import shlex

    return ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(command)]


@contextmanager
def postgres_server() -> Iterator[str]:
    """A server in a temporary folder: yields its URL, then stops it and removes the folder."""
    bindir = server_bin()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL server binaries not found (apt-get install postgresql)")
    top = Path(tempfile.mkdtemp(prefix="reelscribe-pg-"))
    if os.geteuid() == 0:
        shutil.chown(top, "postgres")
    data, port = top / "data", _free_port()
    run = dict(check=True, capture_output=True, text=True, timeout=120)
    try:
        subprocess.run(
            _as_server_user(
                [
                    str(bindir / "initdb"),
                    "-D", str(data),
                    "-U", "postgres",
                    "--auth=trust",
                    "-E", "UTF8",
                    "--locale=C.UTF-8",
                ]
            ),
            **run,
        )  # fmt: skip
        options = f"-p {port} -k {top} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            _as_server_user(
                [str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(top / "log"),
                 "-w", "start"]
            ),
            **run,
        )  # fmt: skip
    except subprocess.CalledProcessError as error:
        shutil.rmtree(top, ignore_errors=True)
        raise RuntimeError(f"could not start PostgreSQL: {error.stderr or error.stdout}") from error
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                             "stop"]),
            capture_output=True,
            timeout=60,
        )  # fmt: skip
        shutil.rmtree(top, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """``postgresql://postgres@127.0.0.1:PORT/postgres`` of a server started for this session."""
    if server_bin() is None:
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    try:
        server = postgres_server()
        url = server.__enter__()
    except RuntimeError as error:
        pytest.fail(str(error))
    try:
        yield url
    finally:
        server.__exit__(None, None, None)


def fresh_database(url: str, name: str) -> str:
    """A new empty database on the server behind ``url``; returns its URL."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}"')
        db.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture
def postgres_db(postgres_url, request) -> str:
    """The URL of a new, empty database for one test."""
    import re

    name = "t_" + re.sub(r"\W", "_", request.node.name.lower())[:50]
    return fresh_database(postgres_url, name)
