"""Where a run keeps its state: one directory, the generated memory file, copies, settings.

Everything a run touches lives under `root` (a temp dir, or `--workdir`), and every child
process gets its paths through the environment, so nothing reaches the user's ./data.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from bench.scale import Scale

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Workspace:
    root: Path
    scale: Scale
    postgres_url: str
    base_memory: Path  # the generated file; cases copy it before writing to it
    specs: list  # the generated sessions (bench.generate.SessionSpec)
    log_postgres_url: str = ""  # a database of its own for the generated log (cases 11-13)
    _scratch: Path | None = None
    _app_log: object = None

    def app_log(self):
        """The generated log on both backends (cases 11-13), made on first use."""
        if self._app_log is None:
            from bench import applog

            sqlite_url = f"sqlite:///{self.directory('applog') / 'todochat.db'}"
            Path(sqlite_url.removeprefix("sqlite:///")).unlink(missing_ok=True)
            self._app_log = applog.generate(self.scale, sqlite_url, self.log_postgres_url)
        return self._app_log

    def scratch_memory(self) -> Path:
        """One shared copy for cases that only add turns and prune (2, 3, 6)."""
        if self._scratch is None:
            self._scratch = self.copy_memory("scratch")
        return self._scratch

    def directory(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def copy_memory(self, name: str) -> Path:
        """A private copy of the generated file (checkpointed first, so one file is enough).

        The copy is flushed to the disk before it is used. Left to the kernel, its 1.4 GB
        are written back about 30 s later (the dirty-page expiry; about 2 s of disk time
        here), in the middle of the cleanup measured next, where the writer's commits (each
        syncs the write-ahead log) can wait behind that burst, a cost of the set-up.
        """
        checkpoint(self.base_memory)
        target = self.directory(name) / "agent_sessions.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(self.base_memory, target)
        with open(target, "rb+") as copy:
            os.fsync(copy.fileno())
        return target

    def environment(self, name: str, memory: Path, database_url: str, **extra: str) -> dict:
        """The variables a todochat process runs with for this case (offline model, no key)."""
        values = {
            "TODOCHAT_DATA_DIR": str(self.directory(name)),
            "DATABASE_URL": database_url,
            "AGENT_SESSION_DB_PATH": str(memory),
            "TODOCHAT_MODEL": "offline",
            "TODOCHAT_USER": "bench",
            "TODOCHAT_TRACING": "false",
        }
        values.update(extra)
        return values

    def settings(self, name: str, memory: Path, database_url: str, **extra: str):
        from todochat.config import load_settings

        return load_settings(self.environment(name, memory, database_url, **extra))

    def sqlite_app_url(self, name: str) -> str:
        return f"sqlite:///{self.directory(name) / 'todochat.db'}"


def child_environment(values: dict) -> dict:
    """This process's environment without any real API key, plus the case's values."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENT_SESSION"))}
    env.update(values)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def checkpoint(path: Path) -> None:
    """Fold the write-ahead log into the main file so a plain file copy is complete."""
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def file_bytes(path: Path) -> int:
    """The database file plus its write-ahead log, as the disk holds them."""
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
