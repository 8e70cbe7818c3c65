"""The command line: a thin click layer over plain functions; the only place that prints or exits."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click

from . import __version__
from .errors import (EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, EXIT_WARNINGS, DossierError,
                     Problem, count_errors)

from .markets import MARKETS
STAGES = ("ind", "marketing")


def _dossier_option(func):
    return click.option("--dossier", "dossier", default="dossier", show_default=True,
                        type=click.Path(file_okay=False, path_type=Path),
                        help="The dossier folder (application.yaml, sites.yaml, ...).")(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dossiergen")
def cli() -> None:
    """Render CMC data (YAML) into CTD Module 3 and regional annexes."""


@cli.command()
@_dossier_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--strict", is_flag=True, help="Exit 3 when there are warnings.")
def validate(dossier: Path, fmt: str, strict: bool) -> None:
    """Check the dossier against the schemas and the semantic rules."""
    from .validate import validate_folder  # not through build: validating needs neither pandoc nor typst

    problems = _run(lambda: validate_folder(dossier))
    _report(problems, fmt)
    errors, warnings = count_errors(problems), len(problems) - count_errors(problems)
    if fmt == "text":
        click.echo(f"{dossier}: {errors} error(s), {warnings} warning(s)", err=True)
    sys.exit(_exit_code(errors, warnings, strict))


@cli.command()
@_dossier_option
@click.option("--market", "markets", type=click.Choice(MARKETS + ("all",)), required=True, multiple=True,
              help="The market to build for; repeat it, or give `all` (the neutral core and the "
                   "application's target markets), to build several in one run.")
@click.option("--stage", type=click.Choice(STAGES), default=None, help="ind or marketing (default: application.yaml).")
@click.option("--out", "out", default="build", show_default=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--final", is_flag=True, help="Fail on any missing data instead of marking it in the documents.")
@click.option("--pdf-engine", type=click.Choice(("typst", "libreoffice")), default="typst", show_default=True,
              help="typst (fast, the default), or libreoffice: a rendition of the DOCX as Word would print it.")
@click.option("--previous", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of the sequences already submitted in this market (0000/, 0001/, ...): build the next "
                   "sequence holding only what changed.")
@click.option("--sequence", default=None, help="Number of the sequence to build (default: the last submitted + 1).")
@click.option("--submission-unit", "submission_unit", default=None,
              help="Envelope submission-unit type: initial, response, additional-info, validation-response, ... "
                   "(default: initial for the first sequence, additional-info after).")
@click.option("--strict", is_flag=True, help="Exit 3 when there are warnings.")
def build(dossier: Path, markets: tuple[str, ...], stage: str | None, out: Path, final: bool, pdf_engine: str,
          previous: Path | None, sequence: str | None, submission_unit: str | None, strict: bool) -> None:
    """Validate the dossier and build the documents for one or more markets and a stage.

    Several markets in one run share one validation and write the documents they share once.
    With --previous, one market's next eCTD sequence: replace, new and delete leaves for what changed."""
    from .build import build_dossiers  # loads neither pandoc nor typst: check_tools says first what is missing
    from .environment import check_tools

    _run(lambda: check_tools(pdf_engine))  # before any work: pandoc, the PDF engine, every font
    _default_build_time(dossier)
    started = time.monotonic()
    with _progress() as advance:
        results = _run(lambda: build_dossiers(dossier, markets, stage, out, final, advance, pdf_engine=pdf_engine,
                                              previous=previous, sequence=sequence, submission_unit=submission_unit))
    warnings = _report_build(results, started)
    sys.exit(_exit_code(0, warnings, strict))


def _report_build(results, started: float) -> int:
    """Print a build's warnings (those of every market once) and each market's summary; return the warnings."""
    shared = [p for p in results[0].problems if all(p in r.problems for r in results[1:])]
    _report(shared, "text")  # validation warnings: the same for every market
    warnings = len(shared)
    for result in results:
        own = [p for p in result.problems if p not in shared]
        if own and len(results) > 1:
            click.echo(f"{result.market}:", err=True)
        _report(own, "text")
        warnings += len(own)
    for result in results:
        click.echo(result.summary, err=True)
    click.echo(f"{warnings} warning(s), {time.monotonic() - started:.1f} s", err=True)
    return warnings


@cli.command()
@_dossier_option
@click.option("--market", "markets", type=click.Choice(MARKETS + ("all",)), required=True, multiple=True,
              help="The market to build for; repeat it, or give `all`, as for `build`.")
@click.option("--stage", type=click.Choice(STAGES), default=None, help="ind or marketing (default: application.yaml).")
@click.option("--out", "out", default="build", show_default=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--final", is_flag=True, help="Fail on any missing data instead of marking it in the documents.")
@click.option("--pdf-engine", type=click.Choice(("typst", "libreoffice")), default="typst", show_default=True,
              help="typst (fast, the default), or libreoffice.")
@click.option("--interval", type=click.FloatRange(0.05, 60), default=0.5, show_default=True,
              help="Seconds between two looks at the dossier's files.")
def watch(dossier: Path, markets: tuple[str, ...], stage: str | None, out: Path, final: bool, pdf_engine: str,
          interval: float) -> None:
    """Build, then build again whenever a file of the dossier changes, until Ctrl-C.

    Each build is the one `dossiergen build` makes with the same options, and places its output the
    same way: a build that fails on bad input prints its problems and leaves the previous output as it
    was, and the watch goes on. The writer processes are kept from one build to the next, so that
    after a small change the documents it touches are rewritten in about a second."""
    from .build import build_dossiers
    from .environment import check_tools
    from .paths import REGIONAL, SCHEMAS, TEMPLATES
    from .watch import rest, settled, snapshot
    from .write import Writers

    _run(lambda: check_tools(pdf_engine))
    roots = [dossier, TEMPLATES, SCHEMAS, REGIONAL]  # what a build reads (outputs.inputs_digest)
    pinned = bool(os.environ.get("SOURCE_DATE_EPOCH"))  # the user's build time; else each build sets its own
    try:
        with Writers() as writers:
            seen = snapshot(roots)
            while True:
                if not pinned:
                    os.environ.pop("SOURCE_DATE_EPOCH", None)
                    _default_build_time(dossier)
                started = time.monotonic()
                try:
                    with _progress() as advance:
                        results = build_dossiers(dossier, markets, stage, out, final, advance, pdf_engine=pdf_engine,
                                                 writers=writers)
                    _report_build(results, started)
                except DossierError as exc:
                    _report_failure(exc)
                    if exc.exit_code != EXIT_BAD_INPUT:  # a usage or tool problem: editing the dossier does not mend it
                        sys.exit(exc.exit_code)
                click.echo(f"watching {dossier} (Ctrl-C to stop)", err=True)
                rest()
                seen, paths = settled(roots, seen, interval)
                shown = ", ".join(os.path.relpath(path) for path in paths[:3])
                click.echo(f"changed: {shown}" + (f" and {len(paths) - 3} more" if len(paths) > 3 else ""), err=True)
    except KeyboardInterrupt:
        click.echo("watch stopped", err=True)
    sys.exit(EXIT_OK)


@cli.command()
@click.argument("build_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("build"))
@click.option("--strict", is_flag=True, help="Exit 3 when there are warnings.")
def check(build_dir: Path, strict: bool) -> None:
    """Check the PDFs and eCTD sequences under BUILD_DIR against FDA, EU and NMPA technical rules."""
    from .check import check_build

    folders = sorted({p.parent.parent for p in build_dir.rglob("ectd/[0-9][0-9][0-9][0-9]")}
                     | {p.parent for p in build_dir.rglob("impd") if (p.parent / "manifest.json").is_file()}) if build_dir.is_dir() else []
    if not folders:
        click.echo(f"error: no built eCTD sequence under {build_dir} (run `dossiergen build` first)", err=True)
        sys.exit(EXIT_USAGE)
    findings = [f for folder in folders for f in _prefixed(check_build(folder), folder, build_dir)]
    for finding in findings:
        click.echo(finding.format(), err=True)
    errors = sum(f.severity == "error" for f in findings)
    pdfs = sum(1 for folder in folders for pattern in ("ectd/**/*.pdf", "impd/**/*.pdf") for _ in folder.rglob(pattern))
    click.echo(f"{build_dir}: {pdfs} PDF(s) in {len(folders)} build(s) checked; {errors} error(s), "
               f"{len(findings) - errors} warning(s)", err=True)
    sys.exit(_exit_code(errors, len(findings) - errors, strict))


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def sequences(folder: Path, fmt: str) -> None:
    """Print the current view of the submitted sequences in FOLDER and check their chain.

    Every current document with the sequence that supplied it and its history; then the problems:
    a modified-file that does not resolve, a leaf replacing or deleting one already gone, a checksum that
    does not hold, a link to a missing document."""
    from .check import check_pdf
    from .lifecycle import current_view, read_history

    if not folder.is_dir():
        click.echo(f"error: no folder of sequences at {folder}", err=True)
        sys.exit(EXIT_USAGE)
    history = read_history(folder)
    if not history.sequences:
        click.echo(f"error: no sequence (0000/, 0001/, ...) in {folder}", err=True)
        sys.exit(EXIT_USAGE)
    view = current_view(history)
    problems = list(history.problems)
    for number in history.sequences:
        for pdf in sorted((folder / number).rglob("*.pdf")):
            problems += [f"{f.file}: {f.message}" for f in check_pdf(pdf, pdf.relative_to(folder).as_posix(), folder / number)
                         if f.rule == "pdf.link_target"]
    if fmt == "json":
        click.echo(json.dumps({"sequences": history.sequences, "current": view, "problems": problems}, indent=2,
                              ensure_ascii=False))
    else:
        click.echo(f"{folder}: sequences {', '.join(history.sequences)}; {len(view)} current document(s)")
        for item in view:
            click.echo(f"{item['sequence']}  {item['file']}  {item['title']}  [{'; '.join(item['history'])}]")
    for problem in problems:
        click.echo(f"{folder}/{problem}: error [lifecycle.chain]", err=True)
    click.echo(f"{folder}: {len(problems)} problem(s) in the chain", err=True)
    sys.exit(EXIT_BAD_INPUT if problems else EXIT_OK)


def _prefixed(findings, folder: Path, base: Path):
    from dataclasses import replace

    prefix = folder.relative_to(base).as_posix() if folder != base else ""
    return [replace(f, file=f"{prefix}/{f.file}" if prefix else f.file) for f in findings]


@cli.command()
@_dossier_option
@click.option("--market", type=click.Choice(("all",) + MARKETS[1:]), default="all", show_default=True,
              help="One market, or all the application's target markets (with the readiness matrix).")
@click.option("--stage", type=click.Choice(STAGES), default=None, help="ind or marketing (default: application.yaml).")
@click.option("--out", "out", default="build", show_default=True, type=click.Path(file_okay=False, path_type=Path))
def gaps(dossier: Path, market: str, stage: str | None, out: Path) -> None:
    """Report what the data lacks for a market (or all markets) and stage, with each YAML location."""
    from .build import gaps_folder
    from .environment import check_tools

    if market == "all":
        _run(lambda: check_tools(None))  # the readiness matrix is also written as DOCX, by pandoc
    _default_build_time(dossier)
    report = _run(lambda: gaps_folder(dossier, market, stage, out))
    _print_matrix(report)
    for path in report.written:
        click.echo(f"wrote {path}", err=True)


def _print_matrix(report) -> None:
    from rich.console import Console
    from rich.table import Table

    from .reports import matrix_terminal

    matrix = report.matrix
    table = Table(title=f"{report.label}: {matrix.stage} stage", show_lines=False)
    for column in ["rule", "source", "severity", *(m.upper() for m in matrix.markets)]:
        table.add_column(column, max_width=60 if column == "source" else None)
    for row in matrix_terminal(matrix):
        table.add_row(*row)
    console = Console(width=160)
    console.print(table)
    for market in matrix.markets:
        for gap in matrix.assessments[market].gaps:
            console.print(f"{market.upper()} {gap.location}: {gap.severity}: {gap.title}: {gap.detail} [{gap.rule}]",
                          markup=False, highlight=False)
            console.print(f"    fix: {gap.fix} ({gap.source})", markup=False, highlight=False)


@cli.command()
@_dossier_option
@click.option("--market", type=click.Choice(MARKETS), default="neutral", show_default=True)
@click.option("--stage", type=click.Choice(STAGES), default=None)
@click.option("--section", default="", help="Only documents whose CTD number starts with this (e.g. 3.2.S.4).")
def render(dossier: Path, market: str, stage: str | None, section: str) -> None:
    """Print the rendered Markdown of documents (for template authors)."""
    from .build import render_folder

    for item in _run(lambda: render_folder(dossier, market, stage, section)):
        click.echo(f"<!-- {item.document.id}: {item.document.path} -->")
        click.echo(item.markdown)


@cli.command()
@_dossier_option
@click.option("--json", "as_json", is_flag=True, help="Print the evaluation as JSON.")
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Evaluate a plain table (columns batch, month, value) instead of the dossier.")
@click.option("--lower", type=float, default=None, help="Lower acceptance limit (with --csv).")
@click.option("--upper", type=float, default=None, help="Upper acceptance limit (with --csv).")
@click.option("--sided", type=click.Choice(("one", "two")), default=None,
              help="One- or two-sided 95 % bound (default: two with both limits, else one).")
@click.option("--batches", default="", help="Only these batches, comma-separated (with --csv).")
def stability(dossier: Path, as_json: bool, csv_file: Path | None, lower: float | None, upper: float | None,
              sided: str | None, batches: str) -> None:
    """Estimate shelf life after ICH Q1E: regression, poolability, confidence bound and limits."""
    from . import shelflife, stats as q1e

    if csv_file is None:
        if lower is not None or upper is not None or sided or batches:
            click.echo("error: --lower, --upper, --sided and --batches need --csv", err=True)
            sys.exit(EXIT_USAGE)
        from .build import _model

        model, _ = _run(lambda: _model(dossier))
        groups = _run(lambda: shelflife.evaluate_all(model))
        if as_json:
            data = {"groups": [g.as_dict() for g in groups], "claims": [v.as_dict() for v in shelflife.verdicts(model)]}
            click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        else:
            click.echo("\n".join(shelflife.report_lines(model)))
        return
    if lower is None and upper is None:
        click.echo("error: give --lower, --upper or both", err=True)
        sys.exit(EXIT_USAGE)
    wanted = [b.strip() for b in batches.split(",") if b.strip()]
    series = _run(lambda: shelflife.read_csv(csv_file, wanted or None))
    try:
        result = q1e.evaluate(series, lower, upper, sided=sided)
    except q1e.NotEnoughData as exc:
        click.echo(f"{csv_file}: error: {exc} [stability.not_enough_data]", err=True)
        sys.exit(EXIT_BAD_INPUT)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo("\n".join(shelflife.describe(result)))


@cli.command()
@_dossier_option
@click.option("--dry-run", is_flag=True, help="List the changes without writing them.")
def migrate(dossier: Path, dry_run: bool) -> None:
    """Upgrade a dossier written for an older schema version to the current one, in place.

    YAML comments, quoting and layout are kept; every change is listed with its place."""
    from .migrate import migrate_folder
    from .validate import validate_folder

    result = _run(lambda: migrate_folder(dossier, dry_run=dry_run))
    for change in result.changes:
        click.echo(change)
    if result.old == result.new:
        click.echo(f"{dossier}: already at schema version {result.new}; nothing to change", err=True)
        sys.exit(EXIT_OK)
    verb = "would change" if dry_run else "changed"
    click.echo(f"{dossier}: schema version {result.old} -> {result.new}: {len(result.changes)} change(s), "
               f"{verb} {len(result.files)} file(s)", err=True)
    if not dry_run:
        problems = _run(lambda: validate_folder(dossier))
        _report(problems, "text")
        errors = count_errors(problems)
        click.echo(f"{dossier}: after migration {errors} error(s), {len(problems) - errors} warning(s)", err=True)
        sys.exit(_exit_code(errors, 0, False))


@cli.group()
def translate() -> None:
    """Translation of the dossier for China: XLIFF export for translators and CAT tools, and import."""


@translate.command("export")
@_dossier_option
@click.option("--market", type=click.Choice(("cn",)), required=True, help="The market whose language is wanted (cn: Chinese).")
@click.option("--out", "out", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="The XLIFF file to write (default: build/translation/<market>.xlf); .tmx and .tbx beside it.")
def translate_export(dossier: Path, market: str, out: Path | None) -> None:
    """Write every text the dossier lacks in the market's language as XLIFF 1.2."""
    from .xliff import export

    result = _run(lambda: export(dossier, out or Path("build") / "translation" / f"{market}.xlf", market))
    for path in result.written:
        click.echo(str(path))
    click.echo(f"{result.units} text(s) to translate ({result.occurrences} place(s) in the data), "
               f"{result.proposed} proposed from the translation memory", err=True)


@translate.command("import")
@_dossier_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--strict", is_flag=True, help="Exit 3 when there are warnings (glossary, changed texts).")
def translate_import(dossier: Path, file: Path, strict: bool) -> None:
    """Write the translations of an XLIFF file into the dossier's YAML and CSV files, in place."""
    from .xliff import import_translations

    result = _run(lambda: import_translations(dossier, file))
    _report(result.problems, "text")
    for rel in result.files:
        click.echo(str(dossier / rel))
    click.echo(f"{result.filled} text(s) filled in {len(result.files)} file(s); {len(result.problems)} warning(s)", err=True)
    sys.exit(_exit_code(0, len(result.problems), strict))


class _progress:
    """Progress of a build on stderr, from the first second: on a terminal, one live line naming the
    stage, its count (rendering eu 120/212) and an ETA from the throughput measured in that stage;
    elsewhere (CI logs), one plain line when each stage starts."""

    def __enter__(self):
        self.stage, self.live, self.task, self.printed = None, None, None, set()
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.live = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("ETA"), TimeRemainingColumn(), console=Console(stderr=True), transient=True)
            self.live.start()
            self.task = self.live.add_task("starting", total=None)
        return self.advance

    def advance(self, stage: str, done: int, total: int) -> None:
        if self.live is None:
            name = stage.split()[0]
            if stage not in self.printed and not (name == "writing" and name in self.printed):
                self.printed |= {stage, name}
                click.echo(f"{stage} ({total})" if total > 1 else stage, err=True)
            return
        if stage != self.stage:  # a new stage: its own count and throughput
            self.stage = stage
            self.live.reset(self.task, description=stage, total=total or None, completed=done)
        else:
            self.live.update(self.task, total=total or None, completed=done)

    def __exit__(self, *exc):
        if self.live is not None:
            self.live.stop()
        return False


def _default_build_time(dossier: Path) -> None:
    """Without SOURCE_DATE_EPOCH, date the build by the last commit touching the dossier (or, outside
    git, by today at 00:00 UTC), so the same inputs give the same bytes and unchanged documents
    are reused between builds."""
    import datetime as dt
    import os
    import subprocess

    if os.environ.get("SOURCE_DATE_EPOCH"):
        return
    stamp = ""
    try:
        done = subprocess.run(["git", "log", "-1", "--format=%ct", "--", "."], cwd=dossier, capture_output=True,
                              text=True, timeout=10, check=False)
        stamp = done.stdout.strip() if done.returncode == 0 else ""
    except (OSError, subprocess.TimeoutExpired):
        pass
    if not stamp.isdigit():
        from .clock import today

        stamp = str(int(dt.datetime.combine(today(), dt.time(), dt.timezone.utc).timestamp()))
    os.environ["SOURCE_DATE_EPOCH"] = stamp


def _run(action):
    try:
        return action()
    except DossierError as exc:
        _report_failure(exc)
        sys.exit(exc.exit_code)


def _report_failure(exc: DossierError) -> None:
    """Print why a command failed: its problems, or its message."""
    _report(list(exc.problems), "text")
    if not exc.problems:
        click.echo(f"error: {exc}", err=True)
    errors = count_errors(exc.problems)
    if errors:
        click.echo(f"{errors} error(s); nothing was written, the previous output is unchanged", err=True)


MAX_PRINTED = 200  # problems printed as text; --format json gives them all


def _report(problems: list[Problem], fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps([p.as_dict() for p in problems], indent=2, ensure_ascii=False))
        return
    for problem in problems[:MAX_PRINTED]:
        click.echo(problem.format(), err=True)
    if len(problems) > MAX_PRINTED:
        click.echo(f"... and {len(problems) - MAX_PRINTED} more problem(s) not shown: fix the first ones (one mistake "
                   "often causes many), or run `dossiergen validate --format json` for the full list", err=True)


def _exit_code(errors: int, warnings: int, strict: bool) -> int:
    if errors:
        return EXIT_BAD_INPUT
    return EXIT_WARNINGS if strict and warnings else EXIT_OK


def main() -> None:
    """Entry point of the dossiergen console script."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(EXIT_USAGE)
    except click.UsageError as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except SystemExit:
        raise
    except Exception:  # an internal bug: say so, with the traceback, and exit 70
        import traceback

        traceback.print_exc()
        click.echo("internal error: this is a bug in dossiergen; please report it with the traceback above", err=True)
        sys.exit(EXIT_INTERNAL)
