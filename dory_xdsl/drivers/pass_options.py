"""Check a `-p` pass pipeline before xDSL builds it, so every mistake names the pass and option.

xDSL 0.74 reports a malformed pipeline as a `BaseException` with a caret picture, a wrongly typed
option as `Incompatible types: given ('abc',), expected <class 'int'>`, and says nothing about
values a pass cannot use. `check_pipeline` parses the spec itself and raises `DoryError`
(`-p: pass 'qnn-tile': option 'l1-bytes' ...`); value checks are the passes' own (a pass
dataclass may raise `DoryError` from `__post_init__`), reported with the option they name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import get_type_hints

from xdsl.passes import ModulePass
from xdsl.utils.arg_spec import _convert_arg_to_type, parse_pipeline  # type: ignore[attr-defined]
from xdsl.utils.exceptions import ArgSpecParseError, ParseError

from dory_xdsl.errors import DoryError


def _spec_error(spec_text: str, error: BaseException) -> DoryError:
    lines = str(error).splitlines()
    caret = next((line.index("^") for line in lines if line.strip().startswith("^")), None)
    why = lines[-1].strip() if lines else "malformed pipeline"
    if caret is None:
        return DoryError(f"-p '{spec_text}': {why}")
    head = spec_text[:caret]
    option = head.rstrip("=").replace("{", " ").replace(",", " ").split()[-1:] if head else []
    where = f"option '{option[0]}'" if option and head.rstrip().endswith("=") else f"column {caret + 1}"
    return DoryError(f"-p '{spec_text}': {where}: {why}")


def _type_name(hint) -> str:
    text = getattr(hint, "__name__", None) or str(hint)
    return {"int": "an integer", "float": "a number", "bool": "true or false", "str": "a string"}.get(text, text)


def check_pipeline(available: dict[str, Callable[[], type[ModulePass]]], spec_text: str) -> None:
    if not spec_text:
        return
    try:
        specs = list(parse_pipeline(spec_text))
    except (ArgSpecParseError, ParseError) as error:
        raise _spec_error(spec_text, error) from None
    for spec in specs:
        if spec.name not in available:
            raise DoryError(f"-p: unknown pass '{spec.name}' (see dory-opt --help for the passes)")
        cls = available[spec.name]()
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init and f.name != "name"}
        hints = get_type_hints(cls)
        given = spec.normalize_parameter_names().parameters
        for key, value in given.items():
            option = key.replace("_", "-")
            if key not in fields:
                known = ", ".join(name.replace("_", "-") for name in fields) or "none"
                raise DoryError(f"-p: pass '{spec.name}' has no option '{option}' (options: {known})")
            try:
                _convert_arg_to_type(value, hints[key])
            except (ValueError, TypeError):
                shown = ",".join(str(v) for v in value) if value else "(nothing)"
                raise DoryError(f"-p: pass '{spec.name}' option '{option}': expected {_type_name(hints[key])}, "
                                f"got {shown}") from None
        try:
            cls.from_pass_spec(spec)
        except DoryError:
            raise
        except (ValueError, TypeError) as error:
            raise DoryError(f"-p: pass '{spec.name}': {str(error).splitlines()[0]}") from None
