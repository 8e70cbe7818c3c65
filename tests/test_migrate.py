"""Schema versions and `dossiergen migrate`: an older dossier keeps validating (deprecation warnings
only), and migrating it in place keeps its comments and layout and builds the same documents."""

from __future__ import annotations

import json
import shutil

from conftest import ROOT, TESTS, run_cli

TABLETS = ROOT / "examples" / "velcratinib-tablets"
V1 = TESTS / "data" / "schema-v1"  # the tablet example's application, batches and stability files as written for version 1
V1_FILES = ("application.yaml", "batches.yaml", "stability.yaml")


def _v1_copy(tmp_path):
    """Return a copy of the tablet example as it was before schema versions (version 1)."""
    folder = tmp_path / "dossier"
    shutil.copytree(TABLETS, folder)
    for name in V1_FILES:
        shutil.copy(V1 / name, folder / name)
    return folder


def test_a_version_1_dossier_validates_with_deprecation_warnings_only(tmp_path):
    folder = _v1_copy(tmp_path)
    run = run_cli("validate", "--dossier", "dossier", "--format", "json", cwd=tmp_path)
    problems = json.loads(run.stdout)
    assert run.exit_code == 0
    assert {p["code"] for p in problems} == {"schema.deprecated"}
    assert all(p["severity"] == "warning" for p in problems)
    first = problems[0]
    assert first["location"]["file"] == "dossier/batches.yaml" and first["location"]["line"] == 79
    assert "made_from" in first["message"] and "dossiergen migrate" in first["hint"]
    claims = [p for p in problems if p["location"]["file"] == "dossier/stability.yaml"]
    assert len(claims) == 3 and "'months' is the schema version 1 name of 'period'" in claims[0]["message"]
    assert len(problems) == 7 and (folder / "batches.yaml").read_text("utf-8") == (V1 / "batches.yaml").read_text("utf-8")


def test_migrating_keeps_comments_and_layout_and_lists_each_change(tmp_path):
    folder = _v1_copy(tmp_path)
    run = run_cli("migrate", "--dossier", "dossier", cwd=tmp_path)
    assert run.exit_code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 8
    assert lines[0].startswith("dossier/batches.yaml:79:5: renamed 'substance_batches' to 'made_from' (dp-25-a)")
    assert lines[4].startswith("dossier/stability.yaml:126:5: renamed 'months' to 'period'")
    assert lines[-1].startswith('dossier/application.yaml:2:1: added schema_version "2"')
    assert "schema version 1 -> 2: 8 change(s), changed 3 file(s)" in run.stderr
    assert "after migration 0 error(s), 0 warning(s)" in run.stderr
    # the result is byte for byte the example as kept in the repository (migrated by this command):
    # every comment, quote, flow list and blank line as written, only the eight changes made
    for name in V1_FILES:
        assert (folder / name).read_text("utf-8") == (TABLETS / name).read_text("utf-8"), name
    text = (folder / "batches.yaml").read_text("utf-8")
    assert "  # Drug product - Suzhou Kangsheng\n" in text and "substance_batches" not in text
    again = run_cli("migrate", "--dossier", "dossier", cwd=tmp_path)
    assert again.exit_code == 0 and again.stdout == "" and "already at schema version 2" in again.stderr


def test_the_migrated_dossier_renders_the_same_documents(tmp_path):
    from dossiergen.build import render_folder

    folder = _v1_copy(tmp_path)
    before = {r.document.path: r.markdown for r in render_folder(folder, "neutral", "ind", "3.2.")}
    assert run_cli("migrate", "--dossier", "dossier", cwd=tmp_path).exit_code == 0
    after = {r.document.path: r.markdown for r in render_folder(folder, "neutral", "ind", "3.2.")}
    assert before == after
    batch_analyses = next(text for path, text in after.items() if "32p54" in path.replace(".", "").replace("-", ""))
    assert "Drug substance batches" in batch_analyses  # the lots read through the renamed field


def test_dry_run_writes_nothing(tmp_path):
    folder = _v1_copy(tmp_path)
    run = run_cli("migrate", "--dossier", "dossier", "--dry-run", cwd=tmp_path)
    assert run.exit_code == 0 and len(run.stdout.splitlines()) == 8 and "would change 3 file(s)" in run.stderr
    for name in V1_FILES:
        assert (folder / name).read_text("utf-8") == (V1 / name).read_text("utf-8")


def test_a_comment_on_a_renamed_key_stays_with_it(tmp_path):
    from dossiergen.migrate import migrate_folder

    folder = _v1_copy(tmp_path)
    path = folder / "batches.yaml"
    path.write_text(path.read_text("utf-8").replace("substance_batches: [ds-hx-gmp1]\n",
                                                    "substance_batches: [ds-hx-gmp1]   # lot released 2024\n", 1), "utf-8")
    migrate_folder(folder)
    assert "    made_from: [ds-hx-gmp1]   # lot released 2024\n" in path.read_text("utf-8")


def test_an_unknown_version_is_a_located_error_and_nothing_is_written(tmp_path):
    folder = _v1_copy(tmp_path)
    app = folder / "application.yaml"
    app.write_text(app.read_text("utf-8").replace("id: ", 'schema_version: "9"\nid: ', 1), "utf-8")
    before = (folder / "batches.yaml").read_bytes()
    run = run_cli("migrate", "--dossier", "dossier", cwd=tmp_path)
    assert run.exit_code == 1
    assert "dossier/application.yaml:2:1: error: schema_version '9' is not a version this dossiergen knows" in run.stderr
    assert (folder / "batches.yaml").read_bytes() == before
    validate = run_cli("validate", "--dossier", "dossier", cwd=tmp_path)
    assert validate.exit_code == 1 and "'9' is not an allowed value for Schema version" in validate.stderr


def test_both_names_at_once_are_refused(tmp_path):
    folder = _v1_copy(tmp_path)
    path = folder / "batches.yaml"
    path.write_text(path.read_text("utf-8").replace("    substance_batches: [ds-hx-gmp1]\n",
                                                    "    substance_batches: [ds-hx-gmp1]\n    made_from: [ds-hx-gmp1]\n", 1), "utf-8")
    run = run_cli("migrate", "--dossier", "dossier", cwd=tmp_path)
    assert run.exit_code == 1 and "both 'substance_batches' and 'made_from' are given [migrate.both_keys]" in run.stderr
    validate = run_cli("validate", "--dossier", "dossier", cwd=tmp_path)
    assert "has both made_from and substance_batches [genealogy.both_keys]" in validate.stderr
