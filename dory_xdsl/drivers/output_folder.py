"""Nothing half-written: `dory compile` publishes its folder and report only when all is ready.

`publish(out, files, report)` checks the destinations first, writes the application into a
temporary folder beside `out` and the report into a temporary file beside its path, and only when
every write succeeded renames them into place (a new `out` folder in one rename; into an existing
`out` folder file by file, each an atomic replace, leaving files the compile does not write alone).
On any failure the temporary files are removed and an existing `out` and report are left as they
were. Errors are `DoryError`s naming the path and the reason.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from dory_xdsl.errors import DoryError


def check_destinations(out: Path, report: Path | None) -> None:
    if out.exists() and not out.is_dir():
        raise DoryError(f"{out}: exists and is not a folder (-o names the application folder)")
    if not out.parent.is_dir():
        raise DoryError(f"{out}: its parent folder {out.parent} does not exist")
    if report is not None:
        if report.is_dir():
            raise DoryError(f"{report}: is a folder (--report names a file)")
        if not report.parent.is_dir():
            raise DoryError(f"{report}: its folder {report.parent} does not exist")


def publish(out: str | Path, files: Mapping[str, bytes],
            reports: Sequence[tuple[str | Path, str]] | Callable[[], Sequence[tuple[str | Path, str]]] = ()) -> None:
    """Write `files` as the folder `out` and each (path, text) report, all or nothing; `reports`
    may be a function, called once the application files are staged."""
    out = Path(out)
    check_destinations(out, None)
    try:
        staging: Path | None = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    except OSError as error:
        raise DoryError(f"{out}: cannot create the application folder ({error.strerror})") from None
    staged: list[tuple[Path, Path]] = []  # (temporary file, report path)
    try:
        try:
            for name, data in sorted(files.items()):
                (staging / name).write_bytes(data)
        except OSError as error:
            raise DoryError(f"{out}: cannot write the application ({error.strerror})") from None
        for path, text in (reports() if callable(reports) else reports):
            check_destinations(out, Path(path))
            path = Path(path)
            try:
                handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
                staged.append((Path(name), path))
                with os.fdopen(handle, "w") as stream:
                    stream.write(text)
            except OSError as error:
                raise DoryError(f"{path}: cannot write the report ({error.strerror})") from None
        _move_into_place(staging, out)
        staging = None
        while staged:
            temporary, path = staged.pop(0)
            os.replace(temporary, path)
    finally:
        if staging is not None and staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
        for temporary, _ in staged:
            if temporary.exists():
                temporary.unlink()


def _move_into_place(staging: Path, out: Path) -> None:
    try:
        if not out.exists():
            os.rename(staging, out)
            return
        for item in sorted(staging.iterdir()):
            os.replace(item, out / item.name)
        staging.rmdir()
    except OSError as error:
        raise DoryError(f"{out}: cannot move the application into place ({error.strerror})") from None
