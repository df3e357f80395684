"""Every code block of README.md and docs/**/*.md runs in CI, and what it shows must be true.

Each fenced code block of the README and of every Markdown file under docs/ is one test
(``tests/test_docs.py::test_block[docs/getting-started.md:42:console]``). What a block does
depends on its language:

``console``
    A terminal session. Each line starting with ``$ `` is a command, run by bash; the lines
    after it, up to the next ``$ `` line, are its expected output (stdout and stderr merged,
    as a terminal shows them). A command ending in `` \\`` continues on the next line (a
    leading ``> `` there is dropped). Outputs are compared after removing trailing whitespace
    from every line and trailing blank lines. Two wildcards, as doctest's ELLIPSIS:

    - a line that is exactly ``...`` matches any number of lines (zero included);
    - ``...`` inside a line matches any text within that line (timings, rates).

    A command must exit with status 0, unless the next command of the block is ``echo $?``,
    which shows the status to the reader (and checks it). The commands of one block run in
    one bash process (``cd`` and variables carry over to the next command of that block).
    The block must start with a ``$ `` line.

``python``
    With ``>>>`` prompts: run as a doctest (ELLIPSIS and NORMALIZE_WHITESPACE on). Without:
    executed, and it must not raise. The python blocks of one document share one namespace,
    in order, like the cells of a notebook.

``yaml``
    Parsed (safe loader). A complete scenario (``payloads`` and ``tug`` or ``tugs``) is
    validated with ``otvplan.io.scenario.loads``; a complete study (a mapping with ``base`` and
    ``axes``) with ``otvplan.study.loads``. Anything else is a fragment: it must parse.

``json``
    Parsed.

``text``
    Not executed: listings, messages, diagrams.

``bash``
    Only the README's two set-up blocks, which CI runs as ``.ci/run`` and
    ``tests/test_readme.py`` checks. Anywhere else a bash block is an error.

Any other language, or a fence without one, is an error: nothing goes unchecked unnoticed.

Directives are HTML comments on the line(s) just above a fence (blank lines allowed between),
invisible in the rendered page:

``<!-- file: PATH -->``
    Write the block's text to PATH in the document's scratch directory, so that later blocks
    use it (``otvplan validate PATH``). A yaml block is validated as well.
``<!-- not-run: REASON -->``
    The block cannot run in CI (it needs a Dask cluster, or takes longer than the suite
    allows). It is still checked as far as possible without running it: python is compiled;
    in a console block every ``otvplan`` command line is parsed by the CLI's own parser
    (so an option that does not exist fails), any other program must be installed, and a
    ``python SCRIPT`` must name a file of the repository. The reason is part of the test id.

Where blocks run: every document gets its own scratch directory, holding a copy of the
repository's ``scenarios/`` and ``studies/``; a relative path in a command therefore reads like
it does from the repository root, and nothing a block writes lands in the checkout. The blocks
of a document run in order (a test for a later block runs the earlier ones first).
Commands get ``PATH`` with this Python's ``bin`` first (so ``otvplan`` is the one under test),
``PYTHONUNBUFFERED=1`` (stdout and stderr interleave as on a terminal), ``MPLBACKEND=Agg``,
and no ``COLUMNS``/``LINES``/``FORCE_COLOR``.

Speed: ``otvplan.planning.solver.plan`` and ``otvplan.flight.verify.verify`` are pure functions
of their inputs; inside the test process (python blocks) each distinct call is computed once and
shared between documents. Commands run in their own processes and compute everything.

Shown output comes from real runs. To write or refresh it after a change of the solver or of
a report::

    python tests/test_docs.py --update docs/getting-started.md [more files]

reruns every block of those files and rewrites each console command's output with what it
printed now, keeping a ``...`` line and the lines around it in place (the first and last
lines of a long output) and ``...`` inside a line where that line still matches. Review the
diff. Doctest outputs are not rewritten: the run lists the ones that fail.
"""

from __future__ import annotations

import dataclasses
import doctest
import io
import json
import os
import re
import select
import shlex
import shutil
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]  # runs outside pytest too: not paths.REPO
COPIED_DIRS = ("scenarios", "studies")
LANGUAGES = ("console", "python", "yaml", "json", "text", "bash")
DIRECTIVES = ("file", "not-run")
BLOCK_TIMEOUT_S = 600
MARK = "@@otvplan-docs-command-end@@"
SHELL_BUILTINS = (".", "source", "cd", "export", "echo", "set", "unset", "pushd", "popd")


def doc_files() -> list[Path]:
    """README.md and every Markdown file under docs/, in a stable order."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


# --------------------------------------------------------------------------------------------
# Markdown: fenced code blocks and their directives
# --------------------------------------------------------------------------------------------

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_DIRECTIVE = re.compile(r"^\s*<!--\s*(?P<key>[A-Za-z][\w-]*)\s*:\s*(?P<value>.*?)\s*-->\s*$")


@dataclasses.dataclass
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    end_line: int  # 1-based line of the closing fence
    lang: str
    text: str  # the content, dedented by the fence's indentation
    indent: str
    directives: dict[str, str]
    problems: list[str]  # malformed fence or directive

    @property
    def id(self) -> str:
        tag = self.lang or "no-language"
        if "not-run" in self.directives:
            tag += "-not-run"
        return f"{rel(self.path)}:{self.line}:{tag}"


def parse_blocks(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown file (CommonMark fences, indented ones included)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m or (m["fence"][0] == "`" and "`" in m["info"]):
            i += 1
            continue
        indent, fence = m["indent"], m["fence"]
        lang = m["info"].strip().split()[0] if m["info"].strip() else ""
        problems: list[str] = []
        directives: dict[str, str] = {}
        j = i - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        while j >= 0 and (d := _DIRECTIVE.match(lines[j])):
            if d["key"] not in DIRECTIVES:
                problems.append(
                    f"line {j + 1}: unknown directive {d['key']!r} (known: {', '.join(DIRECTIVES)})"
                )
            else:
                directives[d["key"]] = d["value"]
            j -= 1
            while j >= 0 and not lines[j].strip():
                j -= 1
        body: list[str] = []
        k = i + 1
        close = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        while k < len(lines) and not close.match(lines[k]):
            body.append(lines[k])
            k += 1
        if k == len(lines):
            problems.append("the fence is never closed")
        body = [b[len(indent) :] if b.startswith(indent) else b.lstrip() for b in body]
        blocks.append(
            Block(
                path,
                i + 1,
                k + 1,
                lang,
                "\n".join(body) + ("\n" if body else ""),
                indent,
                directives,
                problems,
            )
        )
        i = k + 1
    return blocks


# --------------------------------------------------------------------------------------------
# Output comparison with `...` wildcards
# --------------------------------------------------------------------------------------------


def normalise(text: str) -> list[str]:
    """Lines without trailing whitespace, without trailing blank lines."""
    out = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while out and not out[-1]:
        out.pop()
    return out


def _line_pattern(line: str) -> str:
    return "[^\n]*".join(re.escape(part) for part in line.split("..."))


def output_matches(expected: list[str], actual: list[str]) -> bool:
    pattern = "".join(
        "(?:[^\n]*\n)*?" if line.strip() == "..." else _line_pattern(line) + "\n"
        for line in expected
    )
    return re.fullmatch(pattern, "".join(a + "\n" for a in actual)) is not None


def refreshed(expected: list[str], actual: list[str]) -> list[str]:
    """The expected output rewritten from a new actual one, keeping its wildcards in place."""
    if output_matches(expected, actual):
        return expected

    def keep(pattern_line: str, line: str) -> str:
        return (
            pattern_line
            if "..." in pattern_line and output_matches([pattern_line], [line])
            else line
        )

    bare = [n for n, line in enumerate(expected) if line.strip() == "..."]
    if not bare:
        if len(expected) == len(actual):
            return [keep(e, a) for e, a in zip(expected, actual)]
        return list(actual)
    if len(bare) > 1:
        raise ValueError("more than one `...` line: update this output by hand")
    head, tail = expected[: bare[0]], expected[bare[0] + 1 :]
    if len(head) + len(tail) > len(actual):
        return list(actual)
    new_tail = actual[len(actual) - len(tail) :] if tail else []
    return (
        [keep(e, a) for e, a in zip(head, actual)]
        + ["..."]
        + [keep(e, a) for e, a in zip(tail, new_tail)]
    )


# --------------------------------------------------------------------------------------------
# Console blocks
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Command:
    line: int  # 1-based line in the Markdown file
    source_lines: list[str]  # as written, prompt included
    command: str
    expected: list[str]


def parse_console(block: Block) -> list[Command]:
    lines = block.text.splitlines()
    commands: list[Command] = []
    n = 0
    while n < len(lines):
        line = lines[n]
        if not line.startswith("$ "):
            if commands:
                commands[-1].expected.append(line)
            elif line.strip() and "not-run" not in block.directives:
                raise AssertionError(
                    f"{block.id}: a console block starts with a `$ ` command line, not {line!r}"
                )
            n += 1
            continue
        source = [line]
        command = line[2:]
        while command.endswith("\\") and n + 1 < len(lines):
            n += 1
            source.append(lines[n])
            nxt = lines[n][2:] if lines[n].startswith("> ") else lines[n]
            command = command[:-1] + "\n" + nxt
        commands.append(Command(block.line + 1 + n - len(source) + 1, source, command, []))
        n += 1
    for c in commands:
        while c.expected and not c.expected[-1].strip():
            c.expected.pop()
    return commands


def command_env() -> dict[str, str]:
    env = dict(os.environ)
    for key in (
        "COLUMNS",
        "LINES",
        "FORCE_COLOR",
        "CLICOLOR_FORCE",
        "TTY_COMPATIBLE",
        "TTY_INTERACTIVE",
        "OTVPLAN_DEBUG",
        "PYTHONSTARTUP",
    ):
        env.pop(key, None)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update(PYTHONUNBUFFERED="1", MPLBACKEND="Agg", TERM="dumb", NO_COLOR="1")
    return env


def run_console(block: Block, cwd: Path) -> list[tuple[Command, list[str], int]]:
    """Run the block's commands in one bash process; each command's output and status."""
    commands = parse_console(block)
    script = ["set +e"]
    for n, c in enumerate(commands):
        script += [c.command, "__rc=$?", f"printf '\\n{MARK} {n} %d\\n' \"$__rc\"", "(exit $__rc)"]
    proc = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=cwd,
        env=command_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=BLOCK_TIMEOUT_S,
    )
    text = proc.stdout.decode("utf-8", errors="replace")
    results = []
    rest = text
    for n, c in enumerate(commands):
        m = re.search(rf"\n{re.escape(MARK)} {n} (-?\d+)\n", rest)
        if m is None:
            raise AssertionError(
                f"{block.id}: the shell stopped before command {n + 1} "
                f"({c.command!r}) finished; its output:\n{rest}"
            )
        results.append((c, normalise(rest[: m.start()]), int(m[1])))
        rest = rest[m.end() :]
    return results


def check_console(block: Block, cwd: Path) -> None:
    failures = []
    results = run_console(block, cwd)
    for n, (c, actual, status) in enumerate(results):
        shows_status = n + 1 < len(results) and results[n + 1][0].command.strip() == "echo $?"
        if status != 0 and not shows_status:
            failures.append(
                f"line {c.line}: `{c.command}` exited with status {status}; if "
                f"that is intended, show it with a following `$ echo $?`\n" + "\n".join(actual)
            )
            continue
        if not output_matches(c.expected, actual):
            import difflib

            diff = "\n".join(
                difflib.unified_diff(
                    c.expected, actual, "shown in the doc", "printed now", lineterm=""
                )
            )
            failures.append(f"line {c.line}: `{c.command}` printed something else:\n{diff}")
    if failures:
        raise AssertionError(
            f"{block.id}:\n"
            + "\n\n".join(failures)
            + "\n\n(refresh outputs with: python tests/test_docs.py --update "
            f"{rel(block.path)})"
        )


def check_console_not_run(block: Block) -> None:
    """Parse every command without running it."""
    import typer.main

    from otvplan.cli import app

    group = typer.main.get_command(app)
    problems = []
    for c in parse_console(block):
        words = shlex.split(c.command.replace("\\\n", " "), comments=True)
        for n, w in enumerate(words):
            if w in ("|", "||", "&&", ";", ">", ">>", "<", "2>", "&"):
                words = words[:n]
                break
        if not words:
            continue
        program = words[0]
        if program == "otvplan":
            try:
                ctx = group.make_context("otvplan", words[1:])
                name, cmd, args = group.resolve_command(ctx, [*ctx._protected_args, *ctx.args])
                cmd.make_context(name, args, parent=ctx)
            except Exception as exc:  # noqa: BLE001 - click.UsageError and friends, reported
                problems.append(f"line {c.line}: `{c.command}`: {exc}")
        elif program in ("python", "python3") and words[1:2] == ["-m"]:
            import importlib.util

            if len(words) < 3 or importlib.util.find_spec(words[2]) is None:
                problems.append(f"line {c.line}: `{c.command}`: no module to run")
        elif program in ("python", "python3"):
            script = next((w for w in words[1:] if not w.startswith("-")), None)
            if script and not (ROOT / script).is_file():
                problems.append(f"line {c.line}: `{c.command}`: no file {script} in the repository")
        elif program in SHELL_BUILTINS:
            continue
        elif shutil.which(program, path=command_env()["PATH"]) is None:
            problems.append(f"line {c.line}: `{c.command}`: {program} is not installed")
    if problems:
        raise AssertionError(f"{block.id}:\n" + "\n".join(problems))


# --------------------------------------------------------------------------------------------
# Python blocks: one fresh interpreter (a "kernel") per document
# --------------------------------------------------------------------------------------------

_KERNEL_BOOT = """\
import importlib.util, sys
spec = importlib.util.spec_from_file_location("otvplan_docs_harness", sys.argv[1])
harness = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = harness
spec.loader.exec_module(harness)
harness.kernel_main(int(sys.argv[2]))
"""


class Kernel:
    """A Python process that runs one document's python blocks in order, in its own namespace,
    as a reader would in a fresh interpreter (no state leaks between documents)."""

    def __init__(self, cwd: Path, cache_dir: Path | None):
        env = command_env()
        if cache_dir is not None:
            env["OTVPLAN_DOCS_CACHE"] = str(cache_dir)
        read_fd, write_fd = os.pipe()
        self.log_path = cwd / ".docs-kernel.log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _KERNEL_BOOT, str(Path(__file__).resolve()), str(write_fd)],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            pass_fds=(write_fd,),
            text=True,
        )
        os.close(write_fd)
        self.replies = os.fdopen(read_fd, "r", encoding="utf-8")
        self.examples: list[dict] = []

    def run(self, block: Block) -> None:
        if self.proc.poll() is not None or self.replies.closed:
            raise AssertionError(
                f"{block.id}: not run: the Python process running this "
                "document's blocks stopped at an earlier block"
            )
        mode = "doctest" if re.search(r"^\s*>>>", block.text, flags=re.M) else "exec"
        request = {
            "mode": mode,
            "source": block.text,
            "name": block.id,
            "path": str(block.path),
            "line": block.line,
        }
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        ready, _, _ = select.select([self.replies], [], [], BLOCK_TIMEOUT_S)
        line = self.replies.readline() if ready else ""
        if not line:
            self.close()
            log = self.log_path.read_text(encoding="utf-8", errors="replace")[-4000:]
            raise AssertionError(
                f"{block.id}: the Python process running this document's "
                f"blocks {'died' if ready else 'timed out'}; its output:\n{log}"
            )
        reply = json.loads(line)
        self.examples = reply.get("examples", [])
        if not reply["ok"]:
            shown = f"\nit printed:\n{reply['output']}" if reply["output"].strip() else ""
            raise AssertionError(f"{block.id}: {reply['error']}{shown}")

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.replies.close()
        self.log.close()


def kernel_main(reply_fd: int) -> None:
    """The kernel's loop: a JSON request per stdin line, a JSON reply per line on reply_fd."""
    import contextlib

    replies = os.fdopen(reply_fd, "w", encoding="utf-8", buffering=1)
    cache = os.environ.get("OTVPLAN_DOCS_CACHE")
    if cache:
        sys.meta_path.insert(0, _MemoFinder(Path(cache)))
    namespace: dict = {"__name__": "__docs__"}
    for line in sys.stdin:
        request = json.loads(line)
        output = io.StringIO()
        reply = {"ok": True, "error": "", "output": ""}
        try:
            with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
                if request["mode"] == "doctest":
                    test = doctest.DocTestParser().get_doctest(
                        request["source"],
                        namespace,
                        request["name"],
                        request["path"],
                        request["line"],
                    )
                    report = io.StringIO()
                    runner = _RecordingRunner(
                        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
                    )
                    try:
                        runner.run(test, out=report.write, clear_globs=False)
                    finally:
                        namespace.update(test.globs)  # DocTest works on a copy
                    reply["examples"] = runner.examples
                    if runner.failures:
                        reply.update(ok=False, error="doctest failed:\n" + report.getvalue())
                else:
                    code = compile(
                        "\n" * request["line"] + request["source"], request["path"], "exec"
                    )
                    exec(code, namespace)
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            reply.update(ok=False, error="raised:\n" + "".join(traceback.format_exception(exc)))
        reply["output"] = output.getvalue()[-4000:]
        replies.write(json.dumps(reply) + "\n")


class _RecordingRunner(doctest.DocTestRunner):
    """A doctest runner that also records what every example printed (for --update)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.examples: list[dict] = []

    def _record(self, example, got):
        self.examples.append(
            {
                "lineno": example.lineno,
                "source": example.source,
                "want": example.want,
                "got": got,
                "indent": example.indent,
            }
        )

    def report_success(self, out, test, example, got):
        self._record(example, got)

    def report_failure(self, out, test, example, got):
        self._record(example, got)
        super().report_failure(out, test, example, got)

    def report_unexpected_exception(self, out, test, example, exc_info):
        self._record(example, None)
        super().report_unexpected_exception(out, test, example, exc_info)


class _MemoFinder:
    """Memoise otvplan.planning.solver.plan and otvplan.flight.verify.verify on disk, shared by
    the kernels.

    Both are pure functions of their arguments; several documents plan and fly the same
    scenario. The functions are wrapped when the document itself first imports their modules
    (an import hook), so the package's import-time state is exactly that of a fresh
    interpreter."""

    NAMES = ("otvplan.planning.solver", "otvplan.flight.verify")

    def __init__(self, cache: Path):
        self.cache = cache

    def find_spec(self, name, path, target=None):
        if name not in self.NAMES:
            return None
        import importlib.machinery

        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module
        cache = self.cache

        def exec_and_wrap(module):
            exec_module(module)
            _wrap(module, cache)

        spec.loader.exec_module = exec_and_wrap
        return spec


def _wrap(module, cache: Path) -> None:
    import hashlib
    import pickle

    def cached(kind: str, key: str, compute):
        file = cache / f"{kind}-{hashlib.sha256(key.encode()).hexdigest()[:32]}.pickle"
        try:
            return pickle.loads(file.read_bytes())
        except (OSError, EOFError, pickle.UnpicklingError):
            pass
        value = compute()
        tmp = file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(pickle.dumps(value))
        os.replace(tmp, file)
        return value

    if module.__name__ == "otvplan.planning.solver":
        real_plan = module.plan

        def plan(scenario, objective=None, **kwargs):
            key = repr(
                (dataclasses.replace(scenario, source=None), objective, sorted(kwargs.items()))
            )
            p = cached("plan", key, lambda: real_plan(scenario, objective, **kwargs))
            return dataclasses.replace(p, scenario=scenario)

        plan.__doc__, plan.__wrapped__ = real_plan.__doc__, real_plan
        module.plan = plan
    else:
        real_verify = module.verify

        def verify(p, **kwargs):
            key = repr(
                (
                    dataclasses.replace(
                        p, scenario=dataclasses.replace(p.scenario, source=None), solver_stats=()
                    ),
                    sorted(kwargs.items()),
                )
            )
            return cached("verify", key, lambda: real_verify(p, **kwargs))

        verify.__doc__, verify.__wrapped__ = real_verify.__doc__, real_verify
        module.verify = verify


# --------------------------------------------------------------------------------------------
# YAML and JSON blocks
# --------------------------------------------------------------------------------------------


def check_yaml(block: Block, cwd: Path) -> None:
    import yaml

    try:
        data = yaml.safe_load(block.text)
    except yaml.YAMLError as exc:
        raise AssertionError(f"{block.id}: not valid YAML: {exc}") from None
    name = block.directives.get("file")
    if not isinstance(data, dict):
        return
    if "payloads" in data and ("tug" in data or "tugs" in data):
        from otvplan.errors import ScenarioError
        from otvplan.io import scenario

        try:
            scenario.loads(block.text, filename=name or block.id)
        except ScenarioError as exc:
            raise AssertionError(f"{block.id}: the scenario does not validate:\n{exc}") from None
    elif {"base", "axes"} <= data.keys():
        from otvplan import study
        from otvplan.errors import OtvplanError

        base_dir = (cwd / name).parent if name else cwd
        try:
            study.loads(block.text, filename=name or block.id, base_dir=base_dir)
        except OtvplanError as exc:
            raise AssertionError(f"{block.id}: the study does not validate:\n{exc}") from None


# --------------------------------------------------------------------------------------------
# A document's run: scratch directory, kernel, blocks in order
# --------------------------------------------------------------------------------------------


class DocRun:
    def __init__(
        self, path: Path, scratch: Path, cache_dir: Path | None = None, record_console: bool = False
    ):
        self.path = path
        self.blocks = parse_blocks(path)
        self.cwd = scratch
        self.cache_dir = cache_dir
        for name in COPIED_DIRS:
            if (ROOT / name).is_dir():
                shutil.copytree(ROOT / name, scratch / name, dirs_exist_ok=True)
        self.kernel: Kernel | None = None
        self.done: dict[int, BaseException | None] = {}
        self.console_results: dict[int, list] = {}
        self.doctest_results: dict[int, list] = {}
        self.record_console = record_console

    def index_of(self, block: Block) -> int:
        return next(n for n, b in enumerate(self.blocks) if b.line == block.line)

    def run_until(self, index: int) -> DocRun:
        try:
            for n in range(len(self.done), index + 1):
                try:
                    self.run_block(self.blocks[n])
                    self.done[n] = None
                except Exception as exc:  # noqa: BLE001 - kept for that block's test
                    self.done[n] = exc
        finally:
            if self.kernel is not None and len(self.done) == len(self.blocks):
                self.kernel.close()
        return self

    def close(self) -> None:
        if self.kernel is not None:
            self.kernel.close()

    def run_block(self, block: Block) -> None:
        if block.problems:
            raise AssertionError(f"{block.id}: " + "; ".join(block.problems))
        exempt = block.lang == "bash" and block.path == ROOT / "README.md"
        if block.lang not in LANGUAGES or (block.lang == "bash" and not exempt):
            raise AssertionError(
                f"{block.id}: code blocks need one of the languages console, python, yaml, "
                "json or text (see the top of tests/test_docs.py); bash is for the README's "
                "two set-up blocks only"
            )
        not_run = "not-run" in block.directives
        if not_run and not block.directives["not-run"].strip():
            raise AssertionError(f"{block.id}: a not-run directive needs its reason")
        if "file" in block.directives:
            target = (self.cwd / block.directives["file"]).resolve()
            if self.cwd.resolve() not in target.parents:
                raise AssertionError(
                    f"{block.id}: file {block.directives['file']} lies "
                    "outside the scratch directory"
                )
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.text, encoding="utf-8")
        if block.lang in ("text", "bash"):
            return
        if block.lang == "json":
            json.loads(block.text)
        elif block.lang == "yaml":
            check_yaml(block, self.cwd)
        elif block.lang == "python":
            if not_run or "file" in block.directives:
                compile(block.text, str(block.path), "exec")
            else:
                if self.kernel is None:
                    self.kernel = Kernel(self.cwd, self.cache_dir)
                try:
                    self.kernel.run(block)
                finally:
                    if self.record_console:
                        self.doctest_results[block.line] = self.kernel.examples
        elif block.lang == "console":
            if not_run:
                check_console_not_run(block)
            elif self.record_console:
                self.console_results[block.line] = run_console(block, self.cwd)
            else:
                check_console(block, self.cwd)


ALL_BLOCKS = [b for path in doc_files() for b in parse_blocks(path)]
EXECUTED = [
    b
    for b in ALL_BLOCKS
    if b.lang != "text"
    and not (b.lang == "bash" and b.path == ROOT / "README.md" and not b.problems)
]


def _jobs() -> int:
    return max(1, int(os.environ.get("OTVPLAN_DOCS_JOBS", min(2, os.cpu_count() or 1))))


@pytest.fixture(scope="session")
def doc_runs(request, tmp_path_factory):
    """Run the selected documents, several at once (each in its own scratch directory and
    kernel; ``OTVPLAN_DOCS_JOBS``, default 2), each up to its last selected block."""
    from concurrent.futures import ThreadPoolExecutor

    upto: dict[Path, int] = {}
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        block = callspec.params.get("block") if callspec else None
        if getattr(item, "originalname", None) == "test_block" and isinstance(block, Block):
            n = [b.line for b in parse_blocks(block.path)].index(block.line)
            upto[block.path] = max(upto.get(block.path, -1), n)
    cache = tmp_path_factory.mktemp("solver-cache")
    runs = {path: DocRun(path, tmp_path_factory.mktemp(path.stem), cache) for path in upto}
    pool = ThreadPoolExecutor(max_workers=_jobs(), thread_name_prefix="docs")
    futures = {
        path: pool.submit(runs[path].run_until, n)
        for path, n in sorted(upto.items(), key=lambda kv: -kv[1])
    }
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)
    for run in runs.values():
        run.close()


@pytest.mark.slow
@pytest.mark.parametrize("block", EXECUTED, ids=[b.id for b in EXECUTED])
def test_block(block, doc_runs):
    run = doc_runs[block.path].result()
    index = run.index_of(block)
    error = run.done[index]
    if error is not None:
        earlier = [run.blocks[n].id for n in range(index) if run.done.get(n) is not None]
        note = (
            f"\n(earlier blocks of this document failed too: {', '.join(earlier)})"
            if earlier
            else ""
        )
        if isinstance(error, AssertionError):
            raise AssertionError(f"{error}{note}") from None
        detail = "".join(traceback.format_exception(error))
        raise AssertionError(f"{block.id} raised:\n{detail}{note}") from None


def test_every_document_is_found():
    """The README and the docs the README links to are all collected."""
    names = {rel(p) for p in doc_files()}
    for link in re.findall(r"\]\((docs/[^)#]+\.md)", (ROOT / "README.md").read_text("utf-8")):
        assert link in names, f"README links to {link}, which does not exist"


def test_console_wildcards():
    """The comparison rules stated at the top of this file."""
    assert output_matches(["a", "...", "z"], ["a", "b", "c", "z"])
    assert output_matches(["a", "...", "z"], ["a", "z"])
    assert not output_matches(["a", "...", "z"], ["a", "b"])
    assert output_matches(["rate ... cases/s"], ["rate 31.2 cases/s"])
    assert not output_matches(["rate ... cases/s"], ["rate 31.2 cases/s", "more"])
    assert not output_matches(["x"], ["x", "y"])
    assert refreshed(["a", "...", "z"], ["A", "b", "Z"]) == ["A", "...", "Z"]
    assert refreshed(["t ... s"], ["t 3 s"]) == ["t ... s"]
    assert refreshed(["t ... s"], ["u 3 s"]) == ["u 3 s"]
    assert normalise("a  \nb\n\n\n") == ["a", "b"]


# --------------------------------------------------------------------------------------------
# python tests/test_docs.py --update FILE...: rewrite shown outputs from real runs
# --------------------------------------------------------------------------------------------


def _rewrite_doctest(lines: list[str], block: Block, examples: list[dict]) -> int:
    """Put each example's printed output in place of its shown one; 1 if anything changed."""
    before = list(lines)
    for ex in sorted(examples, key=lambda e: -e["lineno"]):
        if ex["got"] is None:
            print(
                f"{block.id}: line {block.line + 1 + ex['lineno']}: the example raised; "
                "fix it by hand",
                file=sys.stderr,
            )
            continue
        start = block.line + ex["lineno"] + ex["source"].count("\n")  # 0-based, first want
        want = ex["want"].splitlines()
        got = [g if g.strip() else "<BLANKLINE>" for g in normalise(ex["got"])]
        try:
            new = refreshed(want, got)
        except ValueError as exc:
            print(f"{block.id}: line {start + 1}: {exc}", file=sys.stderr)
            continue
        pad = block.indent + " " * ex["indent"]
        lines[start : start + len(want)] = [pad + g for g in new]
    return int(lines != before)


def update(paths: list[Path]) -> int:
    """Rerun every block of each file and rewrite its console outputs from what they print."""
    status = 0
    with tempfile.TemporaryDirectory(prefix="docs-cache-") as cache:
        for path in paths:
            path = path.resolve()
            with tempfile.TemporaryDirectory(prefix=f"docs-{path.stem}-") as scratch:
                run = DocRun(path, Path(scratch), Path(cache), record_console=True)
                try:
                    run.run_until(len(run.blocks) - 1)
                finally:
                    run.close()
                lines = path.read_text(encoding="utf-8").splitlines()
                changed = 0
                for n in reversed(range(len(run.blocks))):
                    block, error = run.blocks[n], run.done[n]
                    if block.line in run.doctest_results:
                        changed += _rewrite_doctest(lines, block, run.doctest_results[block.line])
                        continue
                    if error is not None:
                        status = 1
                        print(f"{block.id}: {error}", file=sys.stderr)
                        continue
                    if block.line not in run.console_results:
                        continue
                    results = run.console_results[block.line]
                    new_body: list[str] = []
                    for k, (c, actual, rc) in enumerate(results):
                        shown = (
                            k + 1 < len(results) and results[k + 1][0].command.strip() == "echo $?"
                        )
                        if rc != 0 and not shown:
                            status = 1
                            print(
                                f"{block.id}: line {c.line}: `{c.command}` exited with "
                                f"status {rc} (show it with `$ echo $?`)",
                                file=sys.stderr,
                            )
                        try:
                            expected = refreshed(c.expected, actual)
                        except ValueError as exc:
                            print(f"{block.id}: line {c.line}: {exc}", file=sys.stderr)
                            status, expected = 1, c.expected
                        new_body += c.source_lines + expected
                    new_body = [block.indent + b if b else b for b in new_body]
                    if lines[block.line : block.end_line - 1] != new_body:
                        lines[block.line : block.end_line - 1] = new_body
                        changed += 1
                if changed:
                    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
                print(f"{rel(path)}: {changed} block(s) rewritten")
    return status


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(
        prog="python tests/test_docs.py",
        description="Rerun the code blocks of Markdown files and rewrite the shown output of "
        "their console commands from what the commands print now.",
    )
    parser.add_argument("--update", nargs="+", type=Path, required=True, metavar="FILE")
    sys.exit(update(parser.parse_args().update))
