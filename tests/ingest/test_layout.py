"""The library's shape: stages import only the stages before them, and no Prefect."""

import ast
from importlib import resources

import pytest

ORDER = ["extracts", "audit", "discover", "read", "validate", "pseudonymise", "worker", "load"]


def stage_of(module: str) -> str:
    return module.removeprefix("cakupan.ingest.").split(".")[0]


def ingest_modules():
    root = resources.files("cakupan.ingest")
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).with_suffix("")
        parts = [part for part in relative.parts if part != "__init__"]
        yield ".".join(["cakupan.ingest", *parts]), ast.parse(path.read_text())


def imported(tree) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_every_module_belongs_to_a_stage():
    stages = {stage_of(name) for name, _ in ingest_modules() if name != "cakupan.ingest"}
    assert stages == set(ORDER)


def test_stages_import_only_earlier_stages_and_no_prefect():
    wrong = []
    for name, tree in ingest_modules():
        if name == "cakupan.ingest":
            continue
        rank = ORDER.index(stage_of(name))
        for module in imported(tree):
            if module.split(".")[0] == "prefect":
                wrong.append(f"{name} imports {module}")
            if module.startswith("cakupan.ingest.") and ORDER.index(stage_of(module)) > rank:
                wrong.append(f"{name} imports the later stage {module}")
            if module.startswith("cakupan.") and module.split(".")[1] not in ("ingest", "warehouse", "config", "expectations"):
                wrong.append(f"{name} imports {module}")
    assert wrong == []


@pytest.mark.slow
def test_great_expectations_is_imported_only_to_validate():
    """GX takes seconds to import: a run's process whose workers validate never needs it."""
    import subprocess
    import sys

    code = (
        "import sys, cakupan.flows.nightly, cakupan.flows.backfill, cakupan.ingest.pseudonymise;"
        "print('great_expectations' in sys.modules)"
    )
    before = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert before.stdout.strip() == "False"
    code = "import sys, cakupan.ingest.validate.suites; print('great_expectations' in sys.modules)"
    after = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert after.stdout.strip() == "True"
