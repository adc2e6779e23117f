"""Every convcalc command shown in README.md and docs/*.md runs, exits as documented, and prints
what the doc shows.

A command is, in a fenced block with no language (or console, sh, shell, bash, text), a line
`$ convcalc ...` (a session: the lines after it, up to the next `$` line, are its output) or, in a
block with no `$` line, a line starting with `convcalc `. Lines like `pip install ...` or
`$ head costs.json` are not convcalc commands. A markdown table right after a block whose command
prints markdown (`--format markdown`, no output in the block) is that command's output, rendered.

Each command runs in-process through click's CliRunner, in a scratch copy of the folder its doc
assumes (WORKSPACES), with NO_COLOR, FORCE_COLOR and COLUMNS unset unless the command sets them
(`COLUMNS=80 convcalc ...`): a pipe, so tables keep their full width, as in the docs. Shell globs
(`specs/*.yaml`) expand as bash expands them, sorted. Output is stdout and stderr as a terminal
shows them, interleaved.

Shown output is compared line by line, trailing spaces ignored; a line `...` (indented or not)
stands for any number of lines the doc leaves out, and the versions in "torch X, fvcore Y" are not
compared. A rendered markdown table must be a contiguous part of the output. The exit code must be
0 unless EXIT gives another, with why. A command that cannot run here is in SKIP (by the start of
the command, always, with why) or NEEDS (what it needs; skipped with the reason when missing); an
entry in SKIP, NEEDS, EXIT or FILES that no longer names a command in the docs fails, so none is
left over silently.

After an intended change of output, `CONVCALC_REGEN_DOCS=1 pytest tests/test_docs.py` rewrites
the shown outputs in the docs, keeping their `...` elisions, for review with `git diff`.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import re
import shlex
import shutil
from pathlib import Path
from typing import NamedTuple

import pytest
from click.testing import CliRunner

from convcalc.cli import cli

ROOT = Path(__file__).resolve().parent.parent
DOCS = ["README.md", *sorted(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md"))]
SHELL_FENCES = {"", "console", "sh", "shell", "bash", "text"}
ELISION = "..."
VERSIONS = re.compile(r"torch [^ ,]+, fvcore [^ ,]+")  # the reader's install, not the doc's

# (doc, the start of a command) -> why it is not run
SKIP = {
    ("README.md", "convcalc shapes SPEC... "): "a usage synopsis, not a command",
    ("docs/profile.md", "convcalc profile SPEC "): "a usage synopsis, not a command",
    ("docs/memory.md", "convcalc memory SPEC... "): "a usage synopsis, not a command",
    ("docs/tools.md", "convcalc verify SPEC|SOURCE "): "a usage synopsis, not a command",
}

# (doc, command) -> what it needs beyond the core install: "cuda", or Python modules
_GPU_RUNS = [("specs/resnet50.yaml", "bfloat16"), ("specs/resnet50.yaml", "float32"),
             ("specs/mobilenet_v2.yaml", "bfloat16"), ("specs/mobilenet_v2.yaml", "float32")]
NEEDS = {
    ("README.md", "convcalc verify specs/lenet5.yaml"): ("torch", "fvcore"),  # the torch extra
    ("README.md", "convcalc import tests.import_models:build_resnet --input 3x32x32 -o resnet.yaml"): ("torch",),
    ("docs/import.md", "convcalc import tests.import_models:build_resnet --input 3x32x32 -o resnet.yaml"): ("torch",),
    ("docs/import.md", "convcalc import tests.import_models:build_resnet --input 3x32x32"): ("torch",),
    ("docs/import.md", "convcalc check tests.import_models:build_se --input 3x32x32 --max-macs 4.2G"): ("torch",),
    ("docs/import.md", "convcalc compare tests.import_models:build_resnet preact_resnet18 --input 3x32x32"):
        ("torch",),
    ("README.md", "convcalc profile specs/resnet50.yaml --device cuda --dtype bfloat16 --batch 1,64"): ("cuda",),
    **{("docs/profile.md", f"convcalc profile {spec} --device cuda --dtype {dtype} --batch 1,64"): ("cuda",)
       for spec, dtype in _GPU_RUNS},
    ("docs/draw.md", "convcalc draw resnet50 -o resnet50.svg"): ("grandalf",),  # the draw extra
    ("docs/draw.md", "convcalc draw inception_v3 --by macs -o inception.svg"): ("grandalf",),
}

# (doc, command) -> (exit code, why) for the commands that do not exit 0
EXIT = {
    ("docs/predict.md", "convcalc predict -e \"3x8x8 | relu\" --device rtx-4909"): (2, "shows the one-line error"),
    ("README.md", "convcalc check specs/*.yaml --max-macs 400M"):
        (1, "most of the library is over 400M MACs: the limit fails them, as it should"),
    ("docs/ci.md", "convcalc check specs/*.yaml"): (1, "classifier.yaml is over its params budget"),
    ("docs/ci.md", "convcalc check --write-baseline costs.json specs/*.yaml"):
        (1, "the baseline is written; classifier.yaml still fails its budget"),
    ("docs/ci.md", "convcalc check --baseline costs.json --tolerance 1% specs/*.yaml"):
        (1, "clean.yaml grew 10% over the baseline, and classifier.yaml fails its budget"),
    ("docs/ci.md", "convcalc check --format github --baseline costs.json specs/*.yaml"):
        (1, "clean.yaml grew over the baseline, and classifier.yaml fails its budget"),
    ("docs/ci.md", "convcalc check --baseline costs.json specs/clean.yaml specs/half.yaml"):
        (1, "clean.yaml grew over the baseline"),
    ("docs/ci.md", "convcalc check --format github specs/*.yaml"): (1, "classifier.yaml is over its params budget"),
    ("docs/ci.md", "convcalc check --baseline costs.json --format github specs/clean.yaml"):
        (1, "clean.yaml grew over the baseline"),
    ("docs/ci.md", "convcalc check --format junit --baseline costs.json --tolerance 1% specs/clean.yaml "
                   "specs/classifier.yaml"):
        (1, "clean.yaml grew over the baseline, and classifier.yaml fails its budget"),
    ("docs/ci.md", "convcalc check --format github specs/typo.yaml specs/clean.yaml"): (2, "typo.yaml is invalid"),
    ("docs/ci.md", "convcalc check --max-params 2k specs/typo.yaml specs/clean.yaml"): (2, "typo.yaml is invalid"),
}


# --------------------------------------------------------------------------------------------
# Reading the docs


class Example(NamedTuple):
    doc: str  # "docs/spec.md"
    line: int  # 1-based line of the command
    command: str  # as written, without a trailing `# comment`
    shown: tuple[str, ...] | None  # the output shown in the block; None when the doc shows none
    rendered: bool  # `shown` is a markdown table after the block: a contiguous part of the output

    @property
    def key(self) -> tuple[str, str]:
        return self.doc, self.command

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


def _uncommented(line: str) -> str:
    return re.sub(r"\s+#\s.*$", "", line).strip()


def examples(doc: str) -> list[Example]:
    lines = (ROOT / doc).read_text(encoding="utf-8").splitlines()
    found: list[Example] = []
    i = 0
    while i < len(lines):
        fence = re.match(r"\s*```(\S*)\s*$", lines[i])
        if not fence:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip().startswith("```")), len(lines))
        if fence.group(1) in SHELL_FENCES:
            found += _block(doc, lines, i + 1, end)
        i = end + 1
    return found


def _block(doc: str, lines: list[str], start: int, end: int) -> list[Example]:
    body = lines[start:end]
    if not any(line.startswith("$ ") for line in body):
        return [Example(doc, start + k + 1, _uncommented(line), None, False)
                for k, line in enumerate(body) if line.startswith("convcalc ")]
    found = []
    prompts = [k for k, line in enumerate(body) if line.startswith("$ ")] + [len(body)]
    for k, after in zip(prompts, prompts[1:]):
        command = _uncommented(body[k][2:])
        if not _is_convcalc(command):
            continue
        shown, rendered = tuple(body[k + 1:after]), False
        if not shown and after == len(body) and "--format markdown" in command:  # shown after the block
            shown = _table_after(lines, end + 1)
            rendered = bool(shown)
        found.append(Example(doc, start + k + 1, command, shown or None, rendered))
    return found


def _table_after(lines: list[str], i: int) -> tuple[str, ...]:
    """The markdown table at line i, after any blank lines (empty when there is none)."""
    while i < len(lines) and not lines[i].strip():
        i += 1
    j = i
    while j < len(lines) and lines[j].startswith("|"):
        j += 1
    return tuple(lines[i:j])


def _is_convcalc(command: str) -> bool:
    words = command.split()
    while words and re.match(r"[A-Z_]+=", words[0]):
        words.pop(0)
    return bool(words) and words[0] == "convcalc"


ALL = [e for doc in DOCS for e in examples(doc)]


def yaml_block(doc: str, first_line: str) -> str:
    """The text of the ```yaml block in `doc` that starts with `first_line`."""
    text = (ROOT / doc).read_text(encoding="utf-8")
    match = re.search(r"```yaml\n(" + re.escape(first_line) + r"\n.*?)```", text, re.S)
    assert match, f"{doc} has no yaml block starting with {first_line!r}"
    return match.group(1)


# --------------------------------------------------------------------------------------------
# The folders the docs assume


def invoke(args: list[str], env: dict[str, str | None] | None = None):
    plain = {"NO_COLOR": None, "FORCE_COLOR": None, "COLUMNS": None}
    return CliRunner().invoke(cli, args, env={**plain, **(env or {})}, catch_exceptions=False)


def expand(args: list[str]) -> list[str]:
    """Shell globs as bash expands them: sorted matches, or the word itself when none match."""
    out = []
    for arg in args:
        matches = sorted(glob.glob(arg)) if any(c in arg for c in "*?[") else []
        out += matches or [arg]
    return out


def _repository(path: Path) -> None:
    """The repository root, as README.md and most docs assume: the spec library under specs/,
    docs/spec.md's tiny.yaml, and the baseline README.md's `--write-baseline` records."""
    (path / "specs").symlink_to(ROOT / "specs", target_is_directory=True)
    (path / "tiny.yaml").write_text(yaml_block("docs/spec.md", "name: tiny"), encoding="utf-8")
    assert invoke(["check", "--write-baseline", "costs.json", *expand(["specs/*.yaml"])]).exit_code == 0


def _ci_project(path: Path) -> None:
    """docs/ci.md's project: its classifier.yaml (the spec the doc shows), and the half-precision
    and clean specs of tests/assets/check/. costs.json was recorded before clean.yaml's head grew
    from 8 to 16 outputs, which is what the doc's baseline examples show."""
    specs = path / "specs"
    specs.mkdir()
    (specs / "classifier.yaml").write_text(yaml_block("docs/ci.md", "name: classifier"), encoding="utf-8")
    shutil.copy(ROOT / "tests" / "assets" / "check" / "half.yaml", specs / "half.yaml")
    clean = (ROOT / "tests" / "assets" / "check" / "clean.yaml").read_text(encoding="utf-8")
    (specs / "clean.yaml").write_text(clean, encoding="utf-8")
    assert invoke(["check", "--write-baseline", "costs.json", *expand(["specs/*.yaml"])]).exit_code == 1
    assert "  - linear: {out: 8}\n" in clean
    (specs / "clean.yaml").write_text(clean.replace("  - linear: {out: 8}\n", "  - linear: {out: 16}\n"),
                                      encoding="utf-8")


def _yolo(path: Path) -> None:
    """docs/detect.md's folder: the YOLOv8 layout as yolov8.yaml (yolov8n.yaml reads it at scale n)
    and the small YOLO11-style file of tests/assets/yolo/."""
    for name in ("yolov8.yaml", "tiny11.yaml"):
        shutil.copy(ROOT / "tests" / "assets" / "yolo" / name, path / name)


WORKSPACES = {"docs/ci.md": _ci_project, "docs/detect.md": _yolo}

# (doc, command) -> files the example adds to its workspace, for that command only
FILES = {
    ("docs/ci.md", "convcalc check --format github specs/typo.yaml specs/clean.yaml"):
        {"specs/typo.yaml": "input: [3, 8, 8]\nbudget:\n  parms: 5k\nlayers: [relu]\n"},  # a typo in its budget
    ("docs/ci.md", "convcalc check --max-params 2k specs/typo.yaml specs/clean.yaml"):
        {"specs/typo.yaml": "input: [3, 8, 8]\nbudget:\n  parms: 5k\nlayers: [relu]\n"},
    ("docs/draw.md", "convcalc draw lenet5 --profile profile.json -o lenet5-time.html"):  # as profile writes it
        {"profile.json": '{"schema": 1, "name": "lenet5", "batches": [{"batch": 1, "layers": '
                         '[{"name": "c1", "median_s": 0.0002}, {"name": "c3", "median_s": 0.0001}]}]}'},
}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """One prepared folder per kind of workspace, built once; each command gets a fresh copy."""
    made: dict[str, Path] = {}

    def get(doc: str) -> Path:
        setup = WORKSPACES.get(doc, _repository)
        if setup.__name__ not in made:
            path = tmp_path_factory.mktemp(setup.__name__.strip("_"))
            cwd = os.getcwd()
            os.chdir(path)
            try:
                setup(path)
            finally:
                os.chdir(cwd)
            made[setup.__name__] = path
        return made[setup.__name__]

    return get


# --------------------------------------------------------------------------------------------
# Matching


def _normal(line: str) -> str:
    return VERSIONS.sub("torch X, fvcore Y", line.rstrip())


def matches(shown: list[str] | tuple[str, ...], actual: list[str]) -> bool:
    """Whether `actual` is `shown` with each `...` line standing for any number of lines."""
    pattern = "".join("(?:.*\n)*?" if line.strip() == ELISION else re.escape(_normal(line)) + "\n" for line in shown)
    return re.fullmatch(pattern, "".join(_normal(line) + "\n" for line in actual)) is not None


def first_difference(shown: tuple[str, ...], actual: list[str]) -> str:
    """Where `actual` first departs from `shown`, for the failure message."""
    at, searching = 0, False
    for number, line in enumerate(shown, 1):
        if line.strip() == ELISION:
            searching = True
            continue
        want = _normal(line)
        found = next((i for i in range(at, len(actual)) if _normal(actual[i]) == want), None) if searching else (
            at if at < len(actual) and _normal(actual[at]) == want else None)
        if found is None and searching:
            return f"shown line {number}, after '...': no such line in the rest of the output\n  doc:    {line}"
        if found is None:
            got = actual[at] if at < len(actual) else "(the output has ended)"
            return f"shown line {number}:\n  doc:    {line}\n  output: {got}"
        at, searching = found + 1, False
    return f"the output goes on after the doc's last line:\n  output: {actual[at] if at < len(actual) else ''}"


def contains(shown: tuple[str, ...], actual: list[str]) -> bool:
    want, have = [_normal(line) for line in shown], [_normal(line) for line in actual]
    return any(have[i:i + len(want)] == want for i in range(len(have) - len(want) + 1))


def regenerated(shown: tuple[str, ...], actual: list[str]) -> list[str] | None:
    """`actual` cut to the doc's shape, for CONVCALC_REGEN_DOCS: as many lines as the doc shows
    before its first `...` from the start of the output, after its last from the end, and each
    run between from where the run's first line appears; None when a run cannot be placed (edit
    that example by hand)."""
    runs: list[list[str]] = [[]]
    elisions = []
    for line in shown:
        if line.strip() == ELISION:
            elisions.append(line)
            runs.append([])
        else:
            runs[-1].append(line)
    if not elisions:
        return actual
    head, tail = runs[0], runs[-1]
    if len(head) + len(tail) > len(actual):
        return None
    out, at, end = actual[:len(head)], len(head), len(actual) - len(tail)
    for elision, run in zip(elisions, runs[1:-1]):
        out.append(elision)
        if not run:
            continue
        first = next((i for i in range(at, end - len(run) + 1) if actual[i].strip() == run[0].strip()), None)
        if first is None:
            return None
        out += actual[first:first + len(run)]
        at = first + len(run)
    return out + [elisions[-1]] + actual[end:]


def _rewrite(example: Example, new: list[str]) -> None:
    """Replace the example's shown lines in its doc, found by their text (an earlier rewrite may
    have moved them)."""
    assert example.shown is not None
    path = ROOT / example.doc
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    old = [line.rstrip() for line in example.shown]
    at = next(i for i in range(len(lines)) if [line.rstrip() for line in lines[i:i + len(old)]] == old
              and (example.rendered or lines[i - 1].startswith(f"$ {example.command}")))
    lines[at:at + len(old)] = [line.rstrip() + "\n" for line in new]
    path.write_text("".join(lines), encoding="utf-8")


# --------------------------------------------------------------------------------------------
# The tests


def test_the_docs_show_commands_and_outputs():
    """The reader finds what the docs show (if it found nothing, every test below would pass)."""
    found = {e.key: e for e in ALL}
    assert len(ALL) >= 35
    assert found[("docs/spec.md", "convcalc shapes tiny.yaml")].shown is not None
    resnet50 = found[("README.md", "COLUMNS=120 convcalc shapes specs/resnet50.yaml")]
    assert resnet50.shown[0] == "resnet50 (specs/resnet50.yaml)" and ELISION in resnet50.shown
    assert found[("docs/compare.md", "convcalc compare specs/resnet50.yaml --batch 8 --format markdown")].rendered
    assert ("docs/ci.md", "head -14 costs.json") not in found  # not a convcalc command
    assert sum(e.shown is not None for e in ALL) >= 15


def skipped(example: Example) -> str | None:
    return next((why for (doc, start), why in SKIP.items() if doc == example.doc and example.command.startswith(start)),
                None)


@pytest.mark.parametrize("table", [NEEDS, EXIT, FILES], ids=["NEEDS", "EXIT", "FILES"])
def test_every_listed_exception_is_a_command_in_the_docs(table):
    assert set(table) <= {e.key for e in ALL}


def test_every_skip_names_a_command_in_the_docs():
    for doc, start in SKIP:
        assert any(e.doc == doc and e.command.startswith(start) for e in ALL), (doc, start)


def test_elisions_match_any_number_of_lines():
    assert matches(["a", "...", "z"], ["a", "z"])
    assert matches(["a", "  ...", "z"], ["a", "b", "c", "z  "])
    assert not matches(["a", "...", "z"], ["a", "b"])
    assert not matches(["a", "b"], ["a", "b", "c"])  # without `...` nothing may be left out
    assert matches(["x: torch 2.13.0+cpu, fvcore 0.1.5"], ["x: torch 2.4.1+cu121, fvcore 0.1.5.post20221221"])
    assert regenerated(("a", "...", "z"), ["A", "b", "c", "Z"]) == ["A", "...", "Z"]
    assert regenerated(("a", "...", "m", "...", "z"), ["a", "b", "m", "n", "z"]) == ["a", "...", "m", "...", "z"]
    assert regenerated(("a", "...", "m", "...", "z"), ["a", "b", "c", "z"]) is None  # no 'm' to place


@pytest.mark.parametrize("example", ALL, ids=[e.id for e in ALL])
def test_doc_command(example, prepared, tmp_path, monkeypatch):
    if skipped(example):
        pytest.skip(f"{example.id}: {skipped(example)}")
    for need in NEEDS.get(example.key, ()):
        if need == "cuda":
            torch = pytest.importorskip("torch", reason=f"{example.id}: needs CUDA (torch is not installed)")
            if not torch.cuda.is_available():
                pytest.skip(f"{example.id}: needs CUDA")
        elif importlib.util.find_spec(need) is None:
            pytest.skip(f"{example.id}: needs {need}: pip install '.[torch]'")
    workspace = tmp_path / "workspace"
    shutil.copytree(prepared(example.doc), workspace, symlinks=True)
    for name, text in FILES.get(example.key, {}).items():
        (workspace / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(workspace)
    words = shlex.split(example.command)
    env = {}
    while re.match(r"[A-Z_]+=", words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    if "cuda" in NEEDS.get(example.key, ()):
        env["CONVCALC_CACHE_DIR"] = str(workspace)  # the measured peaks stay in the scratch folder
    result = invoke(expand(words[1:]), env)
    code, why = EXIT.get(example.key, (0, "success"))
    assert result.exit_code == code, f"{example.id}: exit {result.exit_code}, expected {code} ({why})\n{result.output}"
    if example.shown is None:
        return
    actual = result.output.splitlines()
    ok = contains(example.shown, actual) if example.rendered else matches(example.shown, actual)
    if not ok and os.environ.get("CONVCALC_REGEN_DOCS"):
        if example.rendered:
            new = _table_after(actual, next(i for i, line in enumerate(actual) if line.startswith("|")))
        else:
            new = regenerated(example.shown, actual)
        if new is not None:
            _rewrite(example, list(new))
            return
    assert ok, (f"{example.id}: the output differs from the doc's at "
                + ("its table" if example.rendered else first_difference(example.shown, actual))
                + "\n\nthe whole output:\n" + "\n".join(actual[:80]))
