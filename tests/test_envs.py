"""The conda environments: the same pins as the pip requirements, and everything their rules import."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import yaml


def pins(lines) -> dict[str, str]:
    found = {}
    for line in lines:
        if match := re.match(r"^\s*([A-Za-z0-9_.-]+)==([^\s#]+)", line):
            found[match.group(1).lower()] = match.group(2)
    return found


def env_pins(path: Path) -> dict[str, str]:
    """The pip pins of a conda environment file."""
    spec = yaml.safe_load(path.read_text())
    return pins(next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict) and "pip" in d))


RULE_ENV = re.compile(r'conda:\n\s+"\.\./\.\./(envs/[\w.-]+)"')


def rule_blocks(repo: Path) -> dict[str, str]:
    """Rule name -> the text of its definition, from workflow/rules/*.smk."""
    rules = "\n".join(p.read_text() for p in sorted((repo / "workflow" / "rules").glob("*.smk")))
    blocks = re.split(r"^rule ", rules, flags=re.M)[1:]
    return {block.split(":")[0]: block for block in blocks}


def test_every_env_pins_what_requirements_pin(repo):
    required = pins((repo / "requirements.txt").read_text().splitlines())
    assert {"torch", "torchvision", "snakemake", "numpy", "pandas"} <= set(required)
    envs = sorted((repo / "envs").glob("*.yaml"))
    assert envs
    for env in envs:
        pinned = env_pins(env)
        assert pinned, f"{env.name} pins nothing"
        for name, version in pinned.items():
            assert required.get(name) == version, (
                f"{env.name}: {name}=={version}, requirements.txt: {required.get(name)}"
            )


def test_every_rule_names_an_existing_env_and_a_log(repo):
    blocks = rule_blocks(repo)
    assert len(blocks) >= 10
    for name, block in blocks.items():
        assert "\n    log:" in block, f"rule {name} has no log"
        env = RULE_ENV.search(block)
        assert env and (repo / env.group(1)).is_file(), f"rule {name} has no existing conda env"


# Import name -> distribution name, where they differ.
DISTRIBUTIONS = {"PIL": "pillow", "yaml": "pyyaml"}


def module_level_imports(path: Path) -> set[str]:
    """Top-level names a file imports when it is loaded (imports inside functions are deliberate and lazy)."""
    tree = ast.parse(path.read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_every_rules_env_has_what_its_script_and_package_modules_import(repo):
    """Conda cannot run here, so this is how the envs stay complete: each rule's script and the package modules
    it uses (its package_code) import only the standard library, the package, and what the rule's env pins."""
    from genzoo import models
    from genzoo.codedeps import module_closure

    local = {"genzoo", "script_setup"}
    every_architecture = sorted({models.module_of(name) for name in models.ARCHITECTURES})
    checked = 0
    for name, block in rule_blocks(repo).items():
        env = RULE_ENV.search(block).group(1)
        available = set(env_pins(repo / env))
        script = repo / "workflow" / "scripts" / re.search(r'script:\n\s+"\.\./scripts/([\w.]+)"', block).group(1)
        code = re.search(r"(package|run)_code\(([^)]*)\)", block)
        if code is None:  # a rule whose code is not a param (download): the package modules its script imports
            modules = re.findall(r"^from genzoo import (\w+)$", script.read_text(), re.MULTILINE)
            assert modules, f"rule {name}: no package_code and no `from genzoo import` in {script.name}"
        else:
            modules = re.findall(r'"(\w+)"', code.group(2))
        if code is not None and code.group(1) == "run":  # the run's own architecture, which may be any of them
            modules += every_architecture
        files = [script, *map(Path, module_closure(*modules))]
        imported = set().union(*(module_level_imports(f) for f in files)) - local - sys.stdlib_module_names
        needed = {DISTRIBUTIONS.get(module, module).lower() for module in imported}
        assert needed <= available, f"rule {name} ({env}) imports {sorted(needed - available)}, not in the env"
        checked += 1
    assert checked >= 14  # the parsing above found the rules


def test_make_refuses_a_python_the_pinned_wheels_do_not_fit(repo, tmp_path):
    fake = tmp_path / "python3.9"
    fake.write_text("#!/bin/sh\necho 3.9\n")  # answers the version question as a Python 3.9 would
    fake.chmod(0o755)
    result = subprocess.run(["make", "-s", "check-python", f"PYTHON={fake}"], cwd=repo, capture_output=True, text=True)
    assert result.returncode != 0
    assert f"genzoo needs Python 3.11 (the pinned torch 2.14.1 wheels); '{fake}' is 3.9." in result.stderr
    assert "make PYTHON=python3.11" in result.stderr
    assert subprocess.run(["make", "-s", "check-python"], cwd=repo).returncode == 0  # this machine's python3
