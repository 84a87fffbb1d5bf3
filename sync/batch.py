"""``reelscribe batch``: every film under a folder, each into ``OUTROOT/<film stem>/``.

A film's outputs are exactly those of ``reelscribe run FILM -o OUTROOT/<stem>``.
Beside them, ``OUTROOT/.reelscribe/`` holds what makes a collection resumable:

- ``done/<stem>.json``, written after the film's manifest (so last): the input's
  size and modification time, the options' key and the source hash. A rerun
  that finds it matching, with the manifest in place, skips the film without
  reading it (seconds for a whole collection).
- ``cache/``, the stage cache (sync/stagecache.py): face and speech results
  keyed by source hash and options, so a film interrupted after those stages
  resumes without computing them again.

A film that fails is reported and the rest go on; the exit code is non-zero at
the end if any failed. Films run one after another in this process
(``workers=1``), in local processes (``workers=N``, spawned), or as Ray tasks
(``ray_address``: ``local`` starts a Ray instance here; otherwise the address of
a running cluster, whose nodes must have reelscribe installed and the films and
OUTROOT on a shared path). Ray tasks ask for a GPU only where the cluster has one
and the options allow CUDA.
"""

from __future__ import annotations

import glob
import json
import logging
import multiprocessing
import os
import shutil
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from restore.errors import ReelError, UsageError
from restore.master import write_atomic
from sync.pipeline import Pipeline, RunOptions
from sync.stagecache import StageCache, cast_fingerprint, options_key

log = logging.getLogger(__name__)

FILM_SUFFIXES = {
    ".mp4", ".m4v", ".mkv", ".mov", ".avi", ".mpg", ".mpeg", ".mxf", ".ts", ".m2ts",
    ".webm", ".wmv", ".flv", ".ogv", ".dv", ".vob", ".3gp",
}  # fmt: skip
STATE = ".reelscribe"


@dataclass(frozen=True)
class FilmOutcome:
    film: Path
    out: Path
    status: str
    """"done", "skipped" (finished by an earlier run) or "failed"."""
    seconds: float = 0.0
    error: str | None = None
    exit_code: int = 0


@dataclass(frozen=True)
class BatchResult:
    outcomes: tuple[FilmOutcome, ...]

    @property
    def failed(self) -> tuple[FilmOutcome, ...]:
        return tuple(o for o in self.outcomes if o.status == "failed")

    @property
    def exit_code(self) -> int:
        return self.failed[0].exit_code if self.failed else 0

    def summary(self) -> str:
        counts = {s: sum(1 for o in self.outcomes if o.status == s) for s in ("done", "skipped")}
        text = (
            f"{len(self.outcomes)} films: {counts['done']} done, {counts['skipped']} skipped "
            f"(finished before), {len(self.failed)} failed"
        )
        for outcome in self.failed:
            text += f"\n  failed: {outcome.film}: {outcome.error}"
        return text


OUTPUT_SUFFIXES = (".master.mkv", ".access.mp4")
"""Our own outputs: never taken for films (``run`` writes beside the film by default)."""


def find_films(folder: Path, out_root: Path | None = None) -> list[Path]:
    """Every film file under ``folder`` (recursively, by suffix), in name order; not our own
    outputs, nothing in hidden folders, nothing under ``out_root``."""
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder: batch takes a folder of films")
    skip = out_root.resolve() if out_root is not None else None
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.suffix.lower() in FILM_SUFFIXES
        and not p.name.lower().endswith(OUTPUT_SUFFIXES)
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        and (skip is None or not p.resolve().is_relative_to(skip))
    )


def _marker(out_root: Path, film: Path) -> Path:
    return out_root / STATE / "done" / f"{film.stem}.json"


def _stamp(film: Path, options: RunOptions) -> dict:
    stat = film.stat()
    return {
        "input": str(film.resolve()),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "options": options_key(options, cast_fingerprint(options.faces and options.faces.cast)),
    }


def is_finished(film: Path, out_root: Path, options: RunOptions) -> bool:
    """True when an earlier run finished this film with these options (no film read)."""
    try:
        marker = json.loads(_marker(out_root, film).read_text())
    except (OSError, ValueError):
        return False
    stamp = _stamp(film, options)
    manifest = out_root / film.stem / marker.get("manifest", "")
    return all(marker.get(k) == v for k, v in stamp.items()) and manifest.is_file()


def process_film(film: Path, out_root: Path, options: RunOptions) -> FilmOutcome:
    """One film, start to finish: a task for a process pool or a Ray worker."""
    out = out_root / film.stem
    started = time.perf_counter()
    _remove_leftovers(out, film.stem)
    try:
        cache = StageCache(out_root / STATE / "cache")
        result = Pipeline(options, cache=cache).run(film, out)
        marker = {
            **_stamp(film, options),
            "sha256": result.manifest["source"]["sha256"],
            "manifest": result.outputs["manifest"].name,
        }
        write_atomic(_marker(out_root, film), json.dumps(marker, indent=1) + "\n")
    except ReelError as error:
        return FilmOutcome(film, out, "failed", _since(started), str(error), error.exit_code)
    except Exception as error:  # noqa: BLE001 - one film's bug must not stop the collection
        log.debug("%s failed", film, exc_info=True)
        message = f"internal error: {type(error).__name__}: {error}"
        return FilmOutcome(film, out, "failed", _since(started), message, 1)
    return FilmOutcome(film, out, "done", _since(started))


def _remove_leftovers(out: Path, stem: str) -> None:
    """Work folders and partial files of a run that was killed (all named ``.<stem>.*``)."""
    if not out.is_dir():
        return
    for path in out.glob(f".{glob.escape(stem)}.*"):
        log.info("removing %s, left by an interrupted run", path)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 3)


def run_batch(
    folder: Path,
    out_root: Path,
    options: RunOptions | None = None,
    workers: int = 1,
    ray_address: str | None = None,
    on_outcome: Callable[[FilmOutcome, int], None] | None = None,
) -> BatchResult:
    """Process every film under ``folder``; ``on_outcome(outcome, total)`` after each film."""
    options = options or RunOptions()
    films = find_films(Path(folder), Path(out_root))
    if not films:
        log.warning(
            "no film files under %s (looked for %s)", folder, " ".join(sorted(FILM_SUFFIXES))
        )
    out_root = Path(out_root)
    (out_root / STATE / "done").mkdir(parents=True, exist_ok=True)
    outcomes: list[FilmOutcome] = []

    def record(outcome: FilmOutcome) -> None:
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome, len(films))

    todo = []
    stems: dict[str, Path] = {}
    for film in films:
        if film.stem in stems:
            record(
                FilmOutcome(
                    film,
                    out_root / film.stem,
                    "failed",
                    error=f"same name as {stems[film.stem]}: both would go to "
                    f"{out_root / film.stem}; rename one",
                    exit_code=UsageError.exit_code,
                )
            )
            continue
        stems[film.stem] = film
        if is_finished(film, out_root, options):
            record(FilmOutcome(film, out_root / film.stem, "skipped"))
        else:
            todo.append(film)
    if ray_address:
        _on_ray(todo, out_root, options, ray_address, workers, record)
    elif workers > 1 and len(todo) > 1:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(min(workers, len(todo)), mp_context=context) as pool:
            futures = [pool.submit(process_film, f, out_root, options) for f in todo]
            for future in as_completed(futures):
                record(future.result())
    else:
        for film in todo:
            record(process_film(film, out_root, options))
    order = {film: i for i, film in enumerate(films)}
    return BatchResult(tuple(sorted(outcomes, key=lambda o: order[o.film])))


def task_resources(cluster: dict, options: RunOptions) -> dict:
    """What one film asks Ray for: a CPU, and a GPU where the cluster has one and CUDA may run."""
    want_gpu = cluster.get("GPU", 0) >= 1 and options.speech.device in ("auto", "cuda")
    return {"num_cpus": 1, "num_gpus": 1 if want_gpu else 0}


def _on_ray(
    films: Iterable[Path],
    out_root: Path,
    options: RunOptions,
    address: str,
    workers: int,
    record: Callable[[FilmOutcome], None],
) -> None:
    import ray

    started_here = not ray.is_initialized()
    if started_here:
        if address == "local":
            path = os.environ.get("PYTHONPATH")  # a checkout run without installing
            ray.init(
                num_cpus=max(1, workers),
                include_dashboard=False,
                log_to_driver=False,
                runtime_env={"env_vars": {"PYTHONPATH": path}} if path else None,
            )
        else:
            ray.init(address=address, log_to_driver=False)
    try:
        resources = task_resources(ray.cluster_resources(), options)
        task = ray.remote(max_retries=0, **resources)(process_film)
        pending = [task.remote(film, out_root, options) for film in films]
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                record(ray.get(ref))
    finally:
        if started_here:
            ray.shutdown()
