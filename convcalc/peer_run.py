"""Run another tool for real on the model verify builds from a spec, one tool per process.

`convcalc verify --tools` starts `python -m convcalc.peer_run` once per tool and hands it, on
standard input, a pickled job: the tool's name, the validated Spec and the batch. The child
builds the spec's model (weights zero: every tool here counts shapes, never values), makes the
same random input verify uses, calls the tool the way its README says, and writes one JSON
object to standard output: `version` and `printed` (the tool's own figures under its own names),
or `error` with the tool's message. A tool that prints or warns on its own is silenced (its
stdout and stderr go nowhere); a tool that crashes is reported as crashing, never as 0.

Each tool runs in its own process because several of them patch torch for the whole process
(ptflops replaces torch.nn.functional.relu and torch.add, thop adds buffers to every module),
and a run that left a patch behind would change the next tool's count. torch is imported here:
only the child process and `run` (the parent's side, which imports nothing heavy) touch it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pickle
import subprocess
import sys
import warnings
from collections.abc import Callable
from typing import Any

# The distribution each tool installs as, for its version.
DISTRIBUTIONS = {"thop": "thop", "ptflops": "ptflops", "torchinfo": "torchinfo", "fvcore": "fvcore",
                 "flopcounter": "torch"}


def run(tool: str, spec: Any, batch: int, timeout: float | None = None) -> dict[str, Any]:
    """The tool's figures on the spec's model, from a child process: `{"version", "printed"}` or
    `{"version", "error"}`. The child inherits this process's environment (PYTHONPATH)."""
    job = pickle.dumps({"tool": tool, "spec": spec, "batch": batch})
    try:
        done = subprocess.run([sys.executable, "-m", "convcalc.peer_run"], check=False, input=job, capture_output=True,
                              timeout=timeout, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    except subprocess.TimeoutExpired:
        return {"version": version(tool), "error": f"did not finish within {timeout:g} s"}
    lines = done.stdout.decode("utf-8", "replace").strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return {"version": version(tool), "error": (tail[-1] if tail else f"exit status {done.returncode}")[:300]}
    return json.loads(lines[-1])


def version(tool: str) -> str:
    """The installed version of the tool's distribution, or 'not installed'."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed(DISTRIBUTIONS.get(tool, tool))
    except PackageNotFoundError:
        return "not installed"


def installed(tool: str) -> bool:
    """Whether the tool's module can be imported (without importing it)."""
    import importlib.util

    module = {"flopcounter": "torch"}.get(tool, tool)
    return importlib.util.find_spec(module) is not None


# ---- the child: one tool, called as its README shows, on the built model ----

def _thop(model: Any, x: Any) -> dict[str, Any]:
    from thop import profile

    macs, params = profile(model, inputs=(x,), verbose=False)
    return {"macs": macs, "params": params}


def _ptflops(model: Any, x: Any) -> dict[str, Any]:
    from ptflops import get_model_complexity_info

    macs, params = get_model_complexity_info(model, tuple(x.shape[1:]), as_strings=False, backend="pytorch",
                                             print_per_layer_stat=False, input_constructor=lambda _: x)
    if macs is None:  # ptflops printed the exception and returned (None, None)
        raise RuntimeError("ptflops returned no count (its forward pass raised)")
    return {"macs": macs, "params": params}


def _torchinfo(model: Any, x: Any) -> dict[str, Any]:
    from torchinfo import summary

    stats = summary(model, input_data=x, verbose=0)
    return {"total_params": stats.total_params, "trainable_params": stats.trainable_params,
            "total_mult_adds": stats.total_mult_adds}


def _fvcore(model: Any, x: Any) -> dict[str, Any]:
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(model, x)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    analysis.tracer_warnings("none")
    return {"flops": analysis.total(), "unsupported": dict(sorted(analysis.unsupported_ops().items()))}


def _flopcounter(model: Any, x: Any) -> dict[str, Any]:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    return {"flops": counter.get_total_flops()}


RUNNERS: dict[str, Callable[[Any, Any], dict[str, Any]]] = {
    "thop": _thop, "ptflops": _ptflops, "torchinfo": _torchinfo, "fvcore": _fvcore, "flopcounter": _flopcounter}


def _whole(value: Any) -> Any:
    """A count as a JSON number: thop's float64 totals are whole numbers, written as ints."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if hasattr(value, "item"):  # a numpy or torch scalar
        return _whole(value.item())
    return value


def main() -> None:
    job = pickle.loads(sys.stdin.buffer.read())
    tool = job["tool"]
    out = sys.stdout
    result: dict[str, Any] = {"version": version(tool)}
    try:
        import torch

        from .analysis import analyze
        from .verify import _model

        torch.manual_seed(0)
        torch.set_num_threads(1)
        spec = job["spec"]
        model, x = _model(spec, analyze(spec, job["batch"]), job["batch"], "cpu")
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            printed = RUNNERS[tool](model, x)
        result["printed"] = {key: _whole(value) for key, value in printed.items()}
    except Exception as exc:  # noqa: BLE001 (the tool crashed on this model: reported, never counted as 0)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        result["error"] = f"{type(exc).__name__}: {first}"[:300]
    out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
