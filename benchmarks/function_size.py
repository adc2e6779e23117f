"""The largest functions of a module: lines, local names (arguments and names bound inside, not
in nested functions), loops and branches (issue 22).

    python benchmarks/function_size.py convcalc/training.py [FUNCTION]
"""

from __future__ import annotations

import ast
import sys


def measure(fn: ast.FunctionDef) -> dict[str, int]:
    names = {a.arg for a in ast.walk(fn.args) if isinstance(a, ast.arg)}
    loops = branches = comprehensions = ternaries = 0
    for node in ast.walk(fn):
        if node is not fn and isinstance(node, (ast.FunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        loops += isinstance(node, (ast.For, ast.While))
        comprehensions += isinstance(node, ast.comprehension)
        branches += isinstance(node, ast.If)
        ternaries += isinstance(node, ast.IfExp)
    return {"lines": fn.end_lineno - fn.lineno + 1, "locals": len(names), "loops": loops,
            "comprehensions": comprehensions, "branches": branches, "ternaries": ternaries}


def main() -> None:
    tree = ast.parse(open(sys.argv[1]).read())
    rows = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            rows.append((node.name, measure(node)))
        elif isinstance(node, ast.ClassDef):
            rows += [(f"{node.name}.{fn.name}", measure(fn)) for fn in node.body if isinstance(fn, ast.FunctionDef)]
    if len(sys.argv) > 2:
        rows = [r for r in rows if r[0] == sys.argv[2]]
    for name, m in sorted(rows, key=lambda r: -r[1]["lines"])[:8]:
        print(f"{name:32} {m['lines']:4} lines {m['locals']:4} locals {m['loops']:3} loops (+{m['comprehensions']} "
              f"comprehensions) {m['branches']:3} branches (+{m['ternaries']} if-expressions)")


if __name__ == "__main__":
    main()
