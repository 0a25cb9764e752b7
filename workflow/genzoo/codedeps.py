"""Which package files a module depends on, read from its import statements (no imports run).

The rules fingerprint these files as params of the rule whose script imports the module (fingerprints.py), so
Snakemake reruns exactly the rules whose code changed, and says which file did.
"""

import ast
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def _module_file(package_dir: Path, dotted: str) -> Path | None:
    base = package_dir.joinpath(*dotted.split(".")) if dotted else package_dir
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_files(path: Path, package_dir: Path) -> set[Path]:
    """Package files named by the relative imports of one file (and the __init__ of each package)."""
    here = path.parent.relative_to(package_dir).parts
    found: set[Path] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.ImportFrom) or node.level == 0:
            continue
        anchor = here[: len(here) - (node.level - 1)] if node.level > 1 else here
        prefix = ".".join(anchor + tuple(node.module.split("."))) if node.module else ".".join(anchor)
        target = _module_file(package_dir, prefix)
        if target:
            found.add(target)
        for alias in node.names:  # `from . import data` names a module, not an attribute
            submodule = _module_file(package_dir, f"{prefix}.{alias.name}" if prefix else alias.name)
            if submodule:
                found.add(submodule)
    return found


def module_closure(*modules: str, package_dir: Path = PACKAGE_DIR) -> list[str]:
    """Files of the given modules (e.g. 'training') and of everything they import from the package."""
    pending = [_module_file(package_dir, name) for name in modules]
    missing = [name for name, path in zip(modules, pending, strict=True) if path is None]
    if missing:
        raise ValueError(f"no module {missing} in {package_dir}")
    pending.append(package_dir / "__init__.py")
    seen: set[Path] = set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        pending.extend(_imported_files(path, package_dir))
        if path.name != "__init__.py" and (path.parent / "__init__.py").is_file():
            pending.append(path.parent / "__init__.py")
    return sorted(str(path) for path in seen)
