"""Functions over 80 lines of code and files over 400 lines in ``src/``: ``python -m benchmarks.code_size``.

A function's lines of code are its lines that are not blank, not comments and not its docstring (nested
functions count in their parent as well as alone). A file's size is its number of lines. Exit status 1 when
anything is over, so the listing can gate a check; ``--max-function`` and ``--max-file`` change the limits.
"""

from __future__ import annotations

import argparse
import ast
import io
import logging
import sys
import tokenize
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger("benchmarks.code_size")

SRC = Path(__file__).resolve().parents[1] / "src"
MAX_FUNCTION = 80
MAX_FILE = 400


@dataclass(frozen=True)
class Size:
    """One function or file and its size."""

    where: str
    lines: int


def _code_lines(source: str) -> set[int]:
    """Line numbers holding a token other than comments, newlines and indentation."""
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}
    lines: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in skip:
            lines.update(range(token.start[0], token.end[0] + 1))
    return lines


def _docstring_lines(node: ast.AST) -> set[int]:
    if not isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
        return set()
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        if isinstance(body[0].value.value, str):
            return set(range(body[0].lineno, body[0].end_lineno + 1))
    return set()


def function_sizes(path: Path) -> list[Size]:
    """Lines of code of every function in ``path``."""
    source = path.read_text()
    code = _code_lines(source)
    docstrings: set[int] = set()
    tree = ast.parse(source)
    for node in ast.walk(tree):
        docstrings |= _docstring_lines(node)
    sizes = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            lines = (code - docstrings) & set(range(start, node.end_lineno + 1))
            sizes.append(Size(f"{path.relative_to(SRC.parent)}:{node.lineno} {node.name}", len(lines)))
    return sizes


def over_limits(max_function: int = MAX_FUNCTION, max_file: int = MAX_FILE) -> tuple[list[Size], list[Size]]:
    """Functions over ``max_function`` lines of code and files over ``max_file`` lines, largest first."""
    functions, files = [], []
    for path in sorted(SRC.rglob("*.py")):
        functions += [s for s in function_sizes(path) if s.lines > max_function]
        n_lines = len(path.read_text().splitlines())
        if n_lines > max_file:
            files.append(Size(str(path.relative_to(SRC.parent)), n_lines))
    return sorted(functions, key=lambda s: -s.lines), sorted(files, key=lambda s: -s.lines)


def main(argv: list[str] | None = None) -> int:
    """Log what is over the limits; 1 when anything is."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-function", type=int, default=MAX_FUNCTION)
    parser.add_argument("--max-file", type=int, default=MAX_FILE)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    functions, files = over_limits(args.max_function, args.max_file)
    logger.info("functions over %d lines of code: %d", args.max_function, len(functions))
    for size in functions:
        logger.info("  %4d  %s", size.lines, size.where)
    logger.info("files over %d lines: %d", args.max_file, len(files))
    for size in files:
        logger.info("  %4d  %s", size.lines, size.where)
    return 1 if functions or files else 0


if __name__ == "__main__":
    sys.exit(main())
