"""The warehouse model: SQL files in staging/ -> core/ -> mart/, rebuilt in one transaction.

Each file holds one model, a single `select` (CTEs source -> renamed -> final). The folder
is its schema and the file name its table: `core/accounts.sql` builds `core.accounts`.
Staging models are views; core and mart models are tables unless the file starts with
`-- materialized: view`. Models run in dependency order, read from the `schema.name`
references in their SQL, so adding a model needs no change here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from importlib.resources import files

import duckdb

from cakupan.warehouse.publications import Publication, PublishedRecord, append_publication
from cakupan.warehouse.transaction import transaction

LAYERS = ("staging", "core", "mart")
VIEW_MARKER = "-- materialized: view"
_REFERENCE = re.compile(r"\b(staging|core|mart)\.([a-z_][a-z0-9_]*)\b")


class TransformError(RuntimeError):
    """A model could not be built; the message names its file."""


@dataclass(frozen=True)
class Model:
    layer: str
    name: str
    sql: str

    @property
    def relation(self) -> str:
        return f"{self.layer}.{self.name}"

    @property
    def source_file(self) -> str:
        return f"transforms/{self.layer}/{self.name}.sql"

    @property
    def materialization(self) -> str:
        if self.layer == "staging" or self.sql.lstrip().startswith(VIEW_MARKER):
            return "view"
        return "table"

    def depends_on(self) -> set[str]:
        return {f"{layer}.{name}" for layer, name in _REFERENCE.findall(self.sql)} - {self.relation}

    def create_statement(self) -> str:
        body = self.sql.strip().rstrip(";")
        return f"create or replace {self.materialization} {self.relation} as\n{body}\n"


def load_models() -> list[Model]:
    """Every model shipped in the package, in the order they must run."""
    package = files(__package__)
    models = [
        Model(layer, entry.name.removesuffix(".sql"), entry.read_text(encoding="utf-8"))
        for layer in LAYERS
        for entry in sorted(package.joinpath(layer).iterdir(), key=lambda entry: entry.name)
        if entry.name.endswith(".sql")
    ]
    return dependency_order(models)


def dependency_order(models: list[Model]) -> list[Model]:
    """Layer by layer (staging, core, mart); within a layer, each model after those it reads."""
    by_relation = {model.relation: model for model in models}
    ordered: list[Model] = []
    for layer_index, layer in enumerate(LAYERS):
        sorter: TopologicalSorter[str] = TopologicalSorter()
        for model in (model for model in models if model.layer == layer):
            reads = model.depends_on()
            unknown = reads - by_relation.keys()
            if unknown:
                raise TransformError(
                    f"{model.source_file}: reads {', '.join(sorted(unknown))}, which no model builds"
                )
            later = {relation for relation in reads if by_relation[relation].layer in LAYERS[layer_index + 1:]}
            if later:
                raise TransformError(
                    f"{model.source_file}: reads {', '.join(sorted(later))} of a later layer"
                )
            sorter.add(model.relation, *sorted(relation for relation in reads if relation.startswith(f"{layer}.")))
        try:
            ordered += [by_relation[relation] for relation in sorter.static_order()]
        except CycleError as exc:
            raise TransformError(f"models read each other in a cycle: {' -> '.join(exc.args[1])}") from exc
    return ordered


def models_behind(relations: set[str], models: list[Model]) -> list[Model]:
    """The models that build ``relations`` and every model they read, in running order."""
    by_relation = {model.relation: model for model in models}
    needed, to_visit = set(), list(relations)
    while to_visit:
        relation = to_visit.pop()
        if relation not in needed:
            needed.add(relation)
            to_visit += by_relation[relation].depends_on()
    return [model for model in models if model.relation in needed]


def run_models(con: duckdb.DuckDBPyConnection, models: list[Model]) -> None:
    """Create each model's table or view, in the given order."""
    for model in models:
        try:
            con.execute(model.create_statement())
        except duckdb.Error as exc:
            raise TransformError(f"{model.source_file}: {exc}") from exc


def build(con: duckdb.DuckDBPyConnection, publication: Publication | None = None) -> PublishedRecord | None:
    """Rebuild staging, core and the published mart tables from all loaded data.

    One transaction: a reader sees the old set of tables or the new one, never a mix, and
    a failing model leaves the previous tables as they were. With a ``publication`` (every
    run of the pipeline), the new coverage marts are appended to history.* in the same
    transaction, so mart.* always equals the latest publication. Needs the ref.* tables
    (cakupan.warehouse.reference.load_reference) and must not run inside an open transaction.
    """
    models = load_models()
    record = None
    with transaction(con):
        run_models(con, models)
        if publication is not None:
            record = append_publication(con, publication)
    return record
