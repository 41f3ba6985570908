# The Python half of a code-runner interpreter (pyodide-child.js evaluates this file once, after loading and before
# the run, and keeps the function it evaluates to). It removes the JavaScript bridge from the import system, then
# runs ONE program: files written into the working folder, stdin from the request, the last expression kept as the
# result, exceptions reported as {type, message, traceback} with the runner's own frames left out.
# It must not print anything itself: stdout and stderr belong to the program.
import ast
import builtins
import io
import json
import os
import sys
import traceback

_BRIDGE = ("js", "pyodide_js")
_WORKDIR = "/home/pyodide"
_RESULT_MAX_CHARS = 256 * 1024


class _NoBridge:
    """A meta path finder that answers the JavaScript bridge modules as missing."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in _BRIDGE:
            raise ModuleNotFoundError(f"No module named '{name}' (the code runner has no JavaScript bridge)", name=name)
        return None


sys.meta_path.insert(0, _NoBridge())
for _name in list(sys.modules):
    if _name.split(".")[0] in _BRIDGE:
        del sys.modules[_name]


def _no_processes(*args, **kwargs):
    raise PermissionError("the code runner cannot start processes")


# Emscripten's system() would reach Node's child_process (which the permission model refuses, killing the
# interpreter); answer with a Python error instead.
os.system = _no_processes
sys.modules["posix"].system = _no_processes


def _result(value):
    if value is None:
        return None
    try:
        text = json.dumps(value, allow_nan=False)
        if len(text) <= _RESULT_MAX_CHARS:
            return {"json": text}
    except (TypeError, ValueError, RecursionError):
        pass
    text = repr(value)
    if len(text) > _RESULT_MAX_CHARS:
        text = text[:_RESULT_MAX_CHARS] + "…(truncated)"
    return {"repr": text}


def _error(exc, skip_frames):
    tb = exc.__traceback__
    for _ in range(skip_frames):
        tb = tb.tb_next if tb is not None else None
    try:
        report = traceback.TracebackException(type(exc), exc, tb)
        # this file's own frames (its filename is "<exec>") are the runner's, not the program's
        report.stack = traceback.StackSummary.from_list([f for f in report.stack if f.filename != "<exec>"])
        text = "".join(report.format())
    except BaseException:  # formatting itself can run out of memory
        text = f"{type(exc).__name__}: (traceback unavailable)"
    return {"type": type(exc).__name__, "message": str(exc)[:4096], "traceback": text[-16384:]}


def _write_files(files):
    os.makedirs(_WORKDIR, exist_ok=True)
    os.chdir(_WORKDIR)
    for path, text in files.items():
        full = os.path.join(_WORKDIR, path)
        folder = os.path.dirname(full)
        if folder:
            os.makedirs(folder, exist_ok=True)
        with open(full, "w", encoding="utf-8") as handle:
            handle.write(text)


def _run(code, stdin, files_json):
    outcome = {"exit_reason": "ok", "result": None}
    try:
        _write_files(json.loads(files_json))
        sys.stdin = io.StringIO(stdin)
        sys.argv = ["<code>"]
        for stream in (sys.stdout, sys.stderr):
            if hasattr(stream, "reconfigure"):
                stream.reconfigure(line_buffering=True)  # each line reaches the caller while the program runs
        namespace = {"__name__": "__main__", "__builtins__": builtins}
        try:
            tree = ast.parse(code, "<code>", "exec")
        except SyntaxError as exc:
            outcome.update(exit_reason="error", error=_error(exc, 1))
            return json.dumps(outcome)
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        try:
            exec(compile(tree, "<code>", "exec"), namespace)
            if last is not None:
                outcome["result"] = _result(eval(compile(last, "<code>", "eval"), namespace))
        except SystemExit as exc:
            if exc.code not in (None, 0):
                outcome.update(exit_reason="error", error=_error(exc, 1))
        except MemoryError as exc:
            outcome.update(exit_reason="memory", error=_error(exc, 1))
        except BaseException as exc:
            outcome.update(exit_reason="error", error=_error(exc, 1))
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
    return json.dumps(outcome)


_run
