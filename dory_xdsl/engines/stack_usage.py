"""Stack needs of the code that runs on the GAP-8 cluster, from GCC's own measurements.

The app and the PULP-NN kernels are compiled for rv32imc with `-fstack-usage` (one `.su` file
per object: `file:line:col:function<TAB>bytes<TAB>static|dynamic[,bounded]`) and
`-fcallgraph-info=su` (one `.ci` file per object: the call graph in VCG, every defined
function's frame in its label) by `dory_xdsl.engines.rv32_build`.

- `frame_sizes(su_files)`: each function's own frame, in bytes (for reports: the frame of
  every layer function).
- `read_call_graph(ci_files)` and `deepest_chain(graph, function)`: the deepest stack a call of
  `function` can reach, frames summed along the call chain (callees without a definition in the
  measured objects, i.e. the PMSIS runtime and libc, count 0: on GAP-8 they are the SDK's).
- `cluster_stacks(...)`: for the cluster task entry (`pi_cluster_task(&task, ENTRY, ...)` in
  main.c) and every team entry (`pi_cl_team_fork(n, ENTRY, ...)` in network.c, the layer
  functions) their deepest chains; `stack_table_source` prints them as the C table
  (`dory_cluster_stack_needs[]`) the runtime checks against the task's configured stacks when
  the cluster task starts (`pi_cluster_send_task_to_cl`), failing with the function and limit.
Recursion and unbounded dynamic frames cannot be bounded and are errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dory_xdsl.errors import DoryError

_SU_LINE = re.compile(r"^(?P<where>.*):(?P<name>[^:\s]+)\t(?P<bytes>\d+)\t(?P<kind>\S+)$")
_NODE = re.compile(r'node: \{ title: "(?P<title>[^"]+)" label: "(?P<label>[^"]*)"')
_EDGE = re.compile(r'edge: \{ sourcename: "(?P<src>[^"]+)" targetname: "(?P<dst>[^"]+)"')
_FRAME = re.compile(r"\\n(?P<bytes>\d+) bytes \((?P<kind>[^)]*)\)")
_TEAM_FORK = re.compile(r"pi_cl_team_fork\s*\(\s*[^,]+,\s*(\w+)\s*,")
_CLUSTER_TASK = re.compile(r"pi_cluster_task\s*\(\s*[^,]+,\s*(\w+)\s*,")


def _function(title: str) -> str:
    """`file.c:name` (static functions) or `name` -> `name`."""
    return title.rsplit(":", 1)[-1]


def _check_bounded(function: str, kind: str) -> None:
    if kind.startswith("dynamic") and "bounded" not in kind:
        raise DoryError(f"stack usage: {function} has an unbounded dynamic frame (alloca or a variable-length array)")


def frame_sizes(su_files: Iterable[Path]) -> dict[str, int]:
    """Function name -> bytes of its own stack frame, from `-fstack-usage` files (the largest
    when static functions of several files share a name)."""
    frames: dict[str, int] = {}
    for path in su_files:
        for line in Path(path).read_text().splitlines():
            match = _SU_LINE.match(line.strip())
            if match is None:
                continue
            name = match["name"]
            _check_bounded(name, match["kind"])
            frames[name] = max(frames.get(name, 0), int(match["bytes"]))
    return frames


@dataclass
class CallGraph:
    frames: dict[str, int] = field(default_factory=dict)  # functions defined in the measured objects
    calls: dict[str, set[str]] = field(default_factory=dict)


def read_call_graph(ci_files: Iterable[Path]) -> CallGraph:
    """The merged call graph of `-fcallgraph-info=su` files (functions by plain name)."""
    graph = CallGraph()
    for path in ci_files:
        text = Path(path).read_text()
        for node in _NODE.finditer(text):
            frame = _FRAME.search(node["label"])
            if frame is None:  # a declaration only (external callee)
                continue
            name = _function(node["title"])
            _check_bounded(name, frame["kind"])
            graph.frames[name] = max(graph.frames.get(name, 0), int(frame["bytes"]))
        for edge in _EDGE.finditer(text):
            graph.calls.setdefault(_function(edge["src"]), set()).add(_function(edge["dst"]))
    return graph


def deepest_chain(graph: CallGraph, function: str, _memo: dict[str, tuple[int, tuple[str, ...]]] | None = None,
                  _active: tuple[str, ...] = ()) -> tuple[int, tuple[str, ...]]:
    """(bytes, chain): the largest sum of frames along a call chain starting at `function`."""
    memo = {} if _memo is None else _memo
    if function in memo:
        return memo[function]
    if function in _active:
        cycle = " -> ".join((*_active[_active.index(function):], function))
        raise DoryError(f"stack usage: recursion ({cycle}) has no bounded stack")
    best: tuple[int, tuple[str, ...]] = (0, ())
    for callee in sorted(graph.calls.get(function, ())):
        best = max(best, deepest_chain(graph, callee, memo, (*_active, function)), key=lambda b: b[0])
    result = (graph.frames.get(function, 0) + best[0], (function, *best[1]))
    memo[function] = result
    return result


@dataclass
class ClusterStacks:
    """Deepest stacks of the functions the cluster runs, measured on the rv32 build."""

    task_entry: str
    task_bytes: int  # the task entry's deepest chain (team entries run inside pi_cl_team_fork)
    team: dict[str, tuple[int, tuple[str, ...]]]  # team entry (layer function) -> (bytes, chain)
    frames: dict[str, int]  # every measured function's own frame

    def worker_need(self) -> int:
        return max((b for b, _ in self.team.values()), default=0)

    def master_need(self) -> int:
        return self.task_bytes + self.worker_need()


def cluster_entries(files: Mapping[str, bytes]) -> tuple[str, list[str]]:
    """The cluster task entry (main.c) and the team entries (network.c) of an app."""
    task = _CLUSTER_TASK.search(files["main.c"].decode())
    if task is None:
        raise DoryError("stack usage: main.c starts no cluster task (pi_cluster_task)")
    team = list(dict.fromkeys(_TEAM_FORK.findall(files["network.c"].decode())))
    return task.group(1), team


def cluster_stacks(files: Mapping[str, bytes], object_dirs: Iterable[Path]) -> ClusterStacks:
    """Stack needs of the app in `files`, from the `.su` / `.ci` files in `object_dirs`."""
    dirs = list(object_dirs)
    graph = read_call_graph(p for d in dirs for p in sorted(Path(d).glob("*.ci")))
    task, team = cluster_entries(files)
    memo: dict[str, tuple[int, tuple[str, ...]]] = {}
    for entry in (task, *team):
        if entry not in graph.frames:
            raise DoryError(f"stack usage: no frame measured for {entry}")
    # the task entry's own chains, with the team entries (run through pi_cl_team_fork) left out
    task_graph = CallGraph(graph.frames, {f: c - set(team) for f, c in graph.calls.items()})
    task_bytes, _ = deepest_chain(task_graph, task)
    needs = {entry: deepest_chain(graph, entry, memo) for entry in team}
    return ClusterStacks(task, task_bytes, needs,
                         frame_sizes(p for d in dirs for p in sorted(Path(d).glob("*.su"))))


def stack_table_source(stacks: ClusterStacks) -> str:
    """C source of `dory_cluster_stack_needs[]` (runtime `pmsis.h`): the task entry first, then
    every team entry, ended by a NULL name."""
    rows = [f'    {{"{stacks.task_entry}", {stacks.task_bytes}u, 0}},']
    rows += [f'    {{"{entry}", {need}u, 1}},' for entry, (need, _) in stacks.team.items()]
    return ("/* Deepest stack of every function the cluster runs (rv32 -fstack-usage), checked by the\n"
            " * runtime against the cluster task's stacks. Generated by dory_xdsl.engines.stack_usage. */\n"
            '#include "pmsis.h"\n\n'
            "const struct dory_stack_need dory_cluster_stack_needs[] = {\n"
            + "\n".join(rows) + "\n    {0, 0u, 0},\n};\n")
