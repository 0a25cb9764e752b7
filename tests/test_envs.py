"""The conda environments and the pip requirements must pin the same versions."""

import re

import yaml


def pins(lines) -> dict[str, str]:
    found = {}
    for line in lines:
        if match := re.match(r"^\s*([A-Za-z0-9_.-]+)==([^\s#]+)", line):
            found[match.group(1).lower()] = match.group(2)
    return found


def test_every_env_pins_what_requirements_pin(repo):
    required = pins((repo / "requirements.txt").read_text().splitlines())
    assert {"torch", "torchvision", "snakemake", "numpy", "pandas"} <= set(required)
    envs = sorted((repo / "envs").glob("*.yaml"))
    assert envs
    for env in envs:
        spec = yaml.safe_load(env.read_text())
        pip_section = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict) and "pip" in d)
        env_pins = pins(pip_section)
        assert env_pins, f"{env.name} pins nothing"
        for name, version in env_pins.items():
            assert required.get(name) == version, (
                f"{env.name}: {name}=={version}, requirements.txt: {required.get(name)}"
            )


def test_every_rule_names_an_existing_env_and_a_log(repo):
    rules = "\n".join(p.read_text() for p in (repo / "workflow" / "rules").glob("*.smk"))
    blocks = re.split(r"^rule ", rules, flags=re.M)[1:]
    assert len(blocks) >= 10
    for block in blocks:
        name = block.split(":")[0]
        assert "\n    log:" in block, f"rule {name} has no log"
        env = re.search(r'conda:\n\s+"\.\./\.\./(envs/[\w.-]+)"', block)
        assert env and (repo / env.group(1)).is_file(), f"rule {name} has no existing conda env"


def test_rules_in_the_plotting_env_never_import_torch(repo):
    """envs/plot.yaml has no torch: the package modules its rules use must not import it, even indirectly."""
    import subprocess
    import sys

    rules = "\n".join(p.read_text() for p in (repo / "workflow" / "rules").glob("*.smk"))
    modules = set()
    for block in re.split(r"^rule ", rules, flags=re.M)[1:]:
        if '"../../envs/plot.yaml"' in block:
            modules |= set(re.findall(r'package_code\("(\w+)"\)', block))
    assert {"rendering", "plots", "summary", "pages"} <= modules
    check = (
        "import sys; sys.modules['torch'] = None; sys.path.insert(0, 'workflow'); import importlib; "
        f"[importlib.import_module('genzoo.' + name) for name in {sorted(modules)!r}]"
    )
    result = subprocess.run([sys.executable, "-c", check], cwd=repo, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
