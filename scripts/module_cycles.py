#!/usr/bin/env python3
"""Finds import cycles between the files of each crate (issue 12: no module imports another in a
circle). A file's edges are the `crate::…` and `super::…` paths it names, resolved to the file
that defines the module; edges to a module's own ancestors (lib.rs, its mod.rs) are how modules
nest and are not counted.
Prints every cycle (strongly connected group of files) and exits 1 if there is one.

Usage: scripts/module_cycles.py [crate folder …]   (default: every folder with src/lib.rs)
"""
import os
import re
import sys

PATH = re.compile(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
GROUP = re.compile(r"\b(crate|super)::\{([^}]*)\}", re.S)
COMMENT = re.compile(r"//[^\n]*")


def module_files(src):
    """Maps a module path (tuple) to its file, for every .rs file under src."""
    modules = {}
    for root, _, files in os.walk(src):
        for name in files:
            if not name.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(root, name), src)
            parts = rel[:-3].split(os.sep)
            if parts[-1] in ("mod", "lib", "main"):
                parts = parts[:-1]
            modules[tuple(parts)] = os.path.join(root, name)
    return modules


def resolve(path, modules):
    """The deepest module of `path` that has a file of its own."""
    for end in range(len(path), -1, -1):
        if tuple(path[:end]) in modules:
            return tuple(path[:end])
    return ()


def edges_of(module, text, modules):
    text = COMMENT.sub("", text)
    found = set()
    candidates = []
    for match in GROUP.finditer(text):
        for item in match.group(2).split(","):
            item = item.strip().split(" as ")[0].strip()
            if item and item != "self":
                candidates.append((match.group(1), item.split("::")))
    for match in PATH.finditer(text):
        candidates.append((match.group(1), match.group(2).strip(":").split("::")))
    for base, rest in candidates:
        if base == "crate":
            start = []
        else:
            # `super` from a file module is its parent; from mod.rs/lib.rs too (the file is the module).
            start = list(module[:-1])
            while rest and rest[0] == "super":
                start = start[:-1]
                rest = rest[1:]
        target = resolve(start + [p for p in rest if p], modules)
        # A module naming its own ancestors (`super::`, items of lib.rs) is how Rust modules nest,
        # not a cycle; only edges between modules that do not contain each other count.
        if target != module and module[: len(target)] != target:
            found.add(target)
    return found


def cycles(graph):
    """Tarjan's strongly connected components with more than one node."""
    index, low, stack, on_stack, out, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    sys.setrecursionlimit(10000)
    for node in list(graph):
        if node not in index:
            visit(node)
    return out


def main():
    crates = sys.argv[1:] or sorted(d for d in os.listdir(".") if os.path.exists(os.path.join(d, "src", "lib.rs")))
    failed = False
    for crate in crates:
        src = os.path.join(crate, "src")
        modules = module_files(src)
        graph = {}
        for module, file in modules.items():
            with open(file, encoding="utf-8") as f:
                graph[module] = edges_of(module, f.read(), modules)
        for group in cycles(graph):
            failed = True
            names = ["::".join(m) or "lib" for m in group]
            print(f"{crate}: cycle between {', '.join(names)}")
    if not failed:
        print(f"no module cycles in {len(crates)} crates")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
