"""Stage render: Context + document -> Markdown (Jinja2, StrictUndefined, data values escaped).

Every `{{ value }}` in a template is escaped for Markdown by the environment's finalize hook,
so a name like `*x*` or `<b>` prints literally; helpers that build markup (tables, narratives,
captions, markers) return `Markdown`, which passes through unchanged.
"""

from __future__ import annotations

import contextvars
import functools
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from . import tables
from .assemble import Context, Document, applies_at_stage
from .labels import labels  # re-exported: render.labels stays importable
from .layouts import shown_number
from .errors import InputError, Problem
from .paths import REGIONAL, TEMPLATES
from .schema import units
from .text import Markdown, address_parts, escape_md, is_untranslated, pick, zh_typography
from .translation import Untranslated, index_for, is_biologic, is_chinese, is_kept, substance_terms
from .views import RESTRICTED, DocMeta, build_view, has_view
from .views.types import Printable
from .write.layout import LANDSCAPE, MM_PER_PT, PORTRAIT

TEMPLATE_DIR = TEMPLATES / "module3"
PORTRAIT_PT, LANDSCAPE_PT = PORTRAIT.text_width / MM_PER_PT, LANDSCAPE.text_width / MM_PER_PT
TABLE_PT = {"en": 10.0, "zh": 10.5}  # the larger of the DOCX (10 pt) and PDF (9.5 / 10.5 pt) table text


@dataclass(frozen=True)
class Rendered:
    """A rendered document: its Markdown, missing data paths and untranslated narratives."""

    document: Document
    markdown: str
    missing: tuple[str, ...] = ()
    untranslated: tuple[Untranslated, ...] = ()
    attachments: tuple = ()        # attach.Attachment: figures the Markdown points at (attachment:<name>)


@functools.cache
def _environment() -> jinja2.Environment:
    regional = sorted(str(p) for p in REGIONAL.glob("*/templates") if p.is_dir())
    return new_environment([str(TEMPLATE_DIR), *regional], _bytecode_cache())


def new_environment(folders: list[str], bytecode_cache: jinja2.BytecodeCache | None = None) -> jinja2.Environment:
    """Return the Jinja environment of documents over template folders (with a bytecode cache: each
    template is compiled once per machine, not once per build)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folders), undefined=jinja2.StrictUndefined, bytecode_cache=bytecode_cache,
        finalize=_finalize, autoescape=False, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["markup"] = _macro_markup
    return env


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja's bytecode cache in its own per-user folder of the temporary directory (mode 0700, checked).

    An entry is used only for the same template name and file, the same source (Jinja checks its
    checksum) and the same Python; the file names carry a hash of Jinja's version and of this module
    (the environment's options, finalize and filters are set here: they shape the compiled code).
    Writing is an optimisation: a cache that cannot be written is skipped."""

    def dump_bytecode(self, bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def _bytecode_cache(directory: str | None = None) -> jinja2.BytecodeCache | None:
    """Return the bytecode cache of document templates (None where no safe folder can be made)."""
    import hashlib

    signature = hashlib.sha256(jinja2.__version__.encode() + b"\0" + Path(__file__).read_bytes()).hexdigest()[:16]
    try:
        return _BytecodeCache(directory, f"dossiergen-{signature}-%s.cache")
    except (OSError, RuntimeError):  # no writable, private temporary folder
        return None


_HELPERS: contextvars.ContextVar = contextvars.ContextVar("dossiergen_render_helpers")


def _finalize(value) -> Markdown:
    """Escape a printed value; a text given as {en, zh} prints in the document language (tx); a view
    value (views.types: Text, Missing, NotApplicable, Quantity…) prints the one way its type says."""
    if isinstance(value, Printable):
        helpers = _HELPERS.get(None)
        if helpers is None:
            raise TypeError(f"{type(value).__name__} printed outside a render")
        value = value.show(helpers)
    if isinstance(value, dict) and "en" in value and set(value) <= {"en", "zh"}:
        helpers = _HELPERS.get(None)
        value = helpers.tx(value) if helpers else value.get("en")
    return escape_md(value)


def _macro_markup(value) -> Markdown:
    """Mark the output of a template macro as Markdown: `{{ my_macro(x) | markup }}`.

    A macro's own `{{ }}` values were already escaped when it ran, so its output is markup."""
    return Markdown(str(value))


def render_document(context: Context, document: Document) -> Rendered:
    """Return the Markdown of one document; a template error raises InputError naming it."""
    helpers = _Helpers(context, document)
    template_name = f"{document.section.template}.md.j2"
    token = _HELPERS.set(helpers)
    try:
        names = helpers.view_namespace() if has_view(document.section.template) else helpers.namespace()
        text = _environment().get_template(template_name).render(**names)
    except jinja2.UndefinedError as exc:
        raise InputError("template error", (Problem("render.undefined", f"{template_name}: {exc.message}",
                                                    hint=f"while rendering {document.number} ({document.path})"),)) from exc
    except jinja2.TemplateError as exc:
        raise InputError("template error", (Problem("render.template", f"{template_name}: {exc}",
                                                    hint=f"while rendering {document.number} ({document.path})"),)) from exc
    finally:
        _HELPERS.reset(token)
    markdown = _tidy(_links(text, context, document))
    if context.lang == "zh":
        markdown = zh_typography(markdown)  # English the templates print without tx()/md()/t(): listed too, nothing hidden
        index = index_for(context.model.dossier, context.market)
        for piece in index.stray(markdown, [u.text for u in helpers.untranslated]):
            where = index.where(piece)
            helpers.untranslated.append(Untranslated(document.number, where or f"template:{template_name}", piece,
                                                     bool(where) and all(is_kept(p) for p in where.split(", "))))
    return Rendered(document, markdown, tuple(helpers.missing_paths), tuple(dict.fromkeys(helpers.untranslated)),
                    tuple(helpers.attachments))


_LINK = re.compile("\ue000(.*?)\ue001(\\d+)\ue002")


def _links(text: str, context: Context, document: Document) -> str:
    """Turn ref() sentinels into relative links to the target document's PDF.

    ref() returns plain text with private-use sentinels, so a reference survives being joined
    with other text in a template; only here does it become Markdown."""
    here = posixpath.dirname(document.pdf_path)

    def link(match):
        target = context.document_at(int(match.group(2)))
        return f"[{match.group(1)}]({posixpath.relpath(target.pdf_path, here)})"

    return _LINK.sub(link, text)


def _tidy(text: str) -> str:
    lines, blank = [], 0
    for line in text.splitlines():
        blank = blank + 1 if not line.strip() else 0
        if blank < 2:
            lines.append(line.rstrip())
    return "\n".join(lines).strip() + "\n"


@dataclass(frozen=True)
class Page:
    """The frame of a document: the instance line, the not-required statement, a closing pointer."""

    instance_line: Markdown
    not_required: Markdown | None = None
    closing: Markdown | None = None


@dataclass
class _Helpers:
    """The functions and values a template sees, with the per-document state they keep."""

    context: Context
    document: Document
    table_count: int = 0
    figure_count: int = 0
    attachments: list = field(default_factory=list)
    in_landscape: bool = False
    missing_paths: list[str] = field(default_factory=list)
    untranslated: list[Untranslated] = field(default_factory=list)

    def namespace(self) -> dict:
        """The full namespace of a template not yet converted to a view (raw data and the model)."""
        doc, ctx = self.document, self.context
        names = {"doc": doc, "app": ctx.application, "lang": ctx.lang, "market": ctx.market, "stage": ctx.stage,
                 "model": ctx.model, "title": self._title(), "page": self.page(),
                 "required_at_stage": applies_at_stage(doc.section, ctx.stage)}
        for name in ("substance", "product", "excipient", "method", "declaration"):
            names[name] = doc.get(name) or {}
        for helper in ("t", "tx", "md", "table", "landscape", "missing", "not_required", "ref", "get", "result", "qty", "rng",
                       "unit", "criterion", "heading", "batch_pivot", "stability_pivot", "sites_for", "studies_of",
                       "claims_of", "commitments_of", "cumulative_lrv", "chunks", "instance_line", "site_name", "address",
                       "regional_data", "q1e_summary", "trend_figures", "shelf_life_justifications", "made_from",
                       "genealogy_rows", "claim_period", "data_period", "all_in_months",
                       "principles_line", "patient_lot_rows", "flow_figures", "compendial_statement"):
            names[helper] = getattr(self, helper)
        return names

    def view_namespace(self) -> dict:
        """The namespace of a converted template: its view `v`, the document's metadata, the page
        frame and layout helpers only (views.RESTRICTED); raw data and the model are not in it."""
        doc = self.document
        page = self.page()  # first: the frame's instance line prints before the body
        names = {"page": page, "v": build_view(doc.section.template, self), "title": self._title(),
                 "doc": DocMeta(doc.id, doc.number, doc.heading_number, doc.path, doc.key_label)}
        names.update({helper: getattr(self, helper) for helper in RESTRICTED})
        return names

    def _title(self) -> Markdown:
        return Markdown(escape_md(self._terms(pick(self.document.section.title, self.context.lang))))

    def page(self) -> "Page":
        """Return the frame _base.md.j2 prints around every document (instance line, stage statement,
        the closing pointer of the sections the registry marks for the market)."""
        doc, ctx = self.document, self.context
        closing = (Markdown(escape_md(self.t("cn_associated_review_pointer") + self.ref("1.3.8.1")))
                   if doc.section.associated_review and ctx.market in doc.section.associated_review else None)
        return Page(self.instance_line(), None if applies_at_stage(doc.section, ctx.stage) else self.not_required(),
                    closing)

    # words and text -----------------------------------------------------------------------
    def t(self, key: str) -> str:
        """Return a fixed label in the document language."""
        entry = labels().get(key)
        if entry is None:
            raise jinja2.UndefinedError(f"no label '{key}' in labels.yaml")
        if self.context.lang != "en" and not entry.get(self.context.lang):
            self.untranslated.append(Untranslated(self.document.number, f"label:{key}", entry["en"]))
        text = entry.get(self.context.lang) or entry["en"]
        return text if key.startswith("cn_ar_") else self._terms(text)  # 1.3.8.1 names the category as the announcement does

    def _terms(self, text: str) -> str:
        """Name the drug substance of a Chinese fixed text by substance type (原液 or 原料药)."""
        if self.context.lang != "zh":
            return text
        substance = self.document.get("substance")
        if substance:  # a substance's own documents name it by its role (roles.cn_term)
            from .roles import cn_term

            return substance_terms(text, True, cn_term(self.context.model, substance))
        return substance_terms(text, is_biologic(self.context.application.get("molecule_type")))

    def tx(self, value) -> str:
        """Return a short text (string or {en, zh}) in the document language; English in a Chinese
        document is recorded (with its data path) unless it holds only allowed Latin terms."""
        if value is None:
            return ""
        text = str(pick(value, self.context.lang))
        if is_untranslated(value, self.context.lang):
            self._record(text)
        return text

    def _record(self, english: str) -> None:
        index = index_for(self.context.model.dossier, self.context.market)
        if index.terms.needs_translation(english):
            where = index.where(english)
            self.untranslated.append(Untranslated(self.document.number, where or "(derived)", " ".join(english.split()),
                                                  bool(where) and all(is_kept(p) for p in where.split(", "))))

    def md(self, value, where: str = "") -> Markdown:
        """Return a narrative as Markdown in the document language; note it if untranslated."""
        if value is None or value == "":
            return self.missing(where or "narrative")
        if isinstance(value, dict) and set(value) == {"not_applicable"}:
            return Markdown(f"{self.t('not_applicable')}: {self.md(value['not_applicable'], where)}")
        if is_untranslated(value, self.context.lang):
            self._record(str(pick(value, self.context.lang)))
        return Markdown(self._narrative_refs(str(pick(value, self.context.lang)).strip()))

    def heading(self, level: int, text) -> Markdown:
        """Return a Markdown heading line (text escaped)."""
        if isinstance(text, Printable):
            text = text.show(self)
        return Markdown(f"{'#' * level} {escape_md(text)}")

    def missing(self, path: str) -> Markdown:
        """Record a missing data path and return its visible, highlighted marker."""
        self.missing_paths.append(path)
        return Markdown(f'[\\[missing: {escape_md(path)}\\]]{{custom-style="Missing"}}')

    def not_required(self) -> Markdown:
        """Return the statement that this section's content is not required at this stage."""
        return Markdown(f"*{escape_md(self.t('not_required_' + self.context.stage))}*")

    def ref(self, number: str, subject: str | tuple | None = None, named: bool = True) -> str:
        """Return a cross-reference to another section by its CTD number (a link in the output); with
        subject (a substance or product instance id; or the ids of nested instances, a product and its
        excipient), to that instance's section, naming the instance when it is not the referring
        document's own (unless named=False: the text names it already)."""
        shown = shown_number(number, self.context.layout)
        text = f"{self.t('see_section')} {shown}"
        if isinstance(subject, str) and named and subject not in self.document.owners:
            text = self.t("see_section_of").format(number=shown, instance=self._instance_name(subject))
        target = self._target(number, subject)
        return text if target is None else f"\ue000{text}\ue001{target}\ue002"

    def _instance_name(self, subject: str) -> str:
        """Return the name of a substance or product instance, for a reference to its documents."""
        from .crossrefs import SUBJECT_TYPES

        entity = self.context.model.get(subject)
        if entity is None or entity.type not in SUBJECT_TYPES:
            raise InputError("bad cross-reference", (Problem(
                "render.ref_subject", f"cross-reference to '{subject}': not a substance or product instance",
                hint=f"while rendering {self.document.number} ({self.document.path})"),))
        name = self.tx(entity.data.get("substance" if entity.type == "substance" else "name")) or subject
        if entity.type == "substance" and sum(pick(e.data.get("substance"), "en") == pick(entity.data.get("substance"), "en")
                                              for e in self.context.model.of_type("substance")) > 1:
            name += f" – {self.tx(entity.data.get('manufacturer'))}"  # one substance from two makers: name the maker
        return name

    def _target(self, number: str, subject: str | tuple | None = None) -> int | None:
        """Return the index of the document a reference to a CTD number points to: of the subject's
        instance when given (all of them, for a tuple of ids), else nearest first."""
        matches, chain = self.context.matching(number), self.document.instance.get("chain", "")
        if subject:  # an instance id, or the ids of nested instances (a product and its excipient)
            wanted = (subject,) if isinstance(subject, str) else tuple(subject)
            return next((i for i, d in matches if all(w in d.owners for w in wanted)), None)
        for i, d in matches:
            if d.instance.get("chain", "") == chain:
                return i
        for i, d in matches:
            if chain.startswith(d.instance.get("chain", "") or "\0") or not d.instance.get("chain"):
                return i
        return matches[0][0] if matches else None

    def _narrative_refs(self, text: str) -> str:
        """Turn a narrative's [text](ctd:number?subject=id) into a cross-reference (empty text: the
        standard one); validation (rules/formats) has refused those that cannot resolve."""
        from .crossrefs import NARRATIVE_REF

        def one(match):
            number, subject = match.group("number"), match.group("subject") or None
            shown = self.ref(number, subject)
            if not match.group("text").strip():
                return escape_md(shown)  # the sentinels pass escaping unchanged
            target = self._target(number, subject)
            return match.group("text") if target is None else f"\ue000{match.group('text')}\ue001{target}\ue002"

        return NARRATIVE_REF.sub(one, text) if "ctd:" in text else text

    def instance_line(self) -> Markdown:
        """Return the line naming the repeat instance (substance and manufacturer, product, excipient)."""
        doc, parts = self.document, []
        fields = (("substance", "substance", "drug_substance"), ("substance", "manufacturer", "manufacturer"),
                  ("product", "name", "drug_product"), ("product", "dosage_form", "dosage_form"), ("excipient", "name", "excipient"))
        for scope, key, label in fields:
            value = (doc.get(scope) or {}).get(key)
            if value:
                parts.append(f"**{escape_md(self.t(label))}:** {escape_md(self.tx(value))}")
        return Markdown(" · ".join(parts))

    # tables -------------------------------------------------------------------------------
    def table(self, header: list, rows: list, caption: str, widths: list[int] | None = None,
              empty: str = "", landscape: bool | None = None) -> Markdown:
        """Return a pipe table with a numbered caption; no rows gives a missing marker or a statement.

        Column widths come from the content (tables.column_widths; `widths` weigh the spare room);
        a table whose words do not fit a portrait page side by side goes on a landscape page, as
        does one with landscape=True (landscape=False keeps it portrait)."""
        if not rows:
            return self.missing(empty) if empty else Markdown(f"*{escape_md(self.t('no_entries'))}*")
        if isinstance(caption, Printable):
            caption = caption.show(self)
        self.table_count += 1
        text = [[c if isinstance(c, Markdown) else _finalize(c) for c in row]
                for row in [header] + [["" if c is None else c for c in row] for row in rows]]
        size = TABLE_PT["zh" if self.context.lang == "zh" else "en"]
        pad = 2 * tables.CELL_PAD_PT / size
        weights = list(widths or [1] * len(header))
        shares, fits = tables.column_widths(text, weights, PORTRAIT_PT / size, pad)
        if landscape is None:
            landscape = not fits
        if landscape:
            shares, fits = tables.column_widths(text, weights, LANDSCAPE_PT / size, pad)
        if not fits:  # still too wide: words with - / may break there (convert.lua does so only where needed)
            shares, _ = tables.column_widths(text, weights, (LANDSCAPE_PT if landscape else PORTRAIT_PT) / size, pad, pieces=True)
        cells = lambda row: "| " + " | ".join(row) + " |"
        lines = [cells(text[0]), "|" + "|".join(":" + "-" * max(3, round(100 * share)) for share in shares) + "|"]
        lines += [cells(row) for row in text[1:]]
        number = f"{self.t('table')} {self.document.heading_number}-{self.table_count}"
        table = "\n" + "\n".join(lines) + f"\n\n: {number} {escape_md(caption)}\n"
        return Markdown(f"\n::: landscape\n{table}\n:::\n" if landscape and not self.in_landscape else table)

    def landscape(self, on: bool = True, caller=None) -> Markdown:
        """Put what a template's `{% call landscape() %}...{% endcall %}` block holds on landscape
        pages (with on=False, where it stands)."""
        if not on:
            return Markdown(caller() if caller else "")
        self.in_landscape = True
        try:
            return Markdown(f"\n::: landscape\n{caller() if caller else ''}\n:::\n")
        finally:
            self.in_landscape = False

    # data ---------------------------------------------------------------------------------
    def get(self, entity_id):
        """Return the data of an entity by id (empty mapping if unknown)."""
        entity = self.context.model.get(entity_id)
        return entity.data if entity else {}

    def result(self, value) -> str:
        text = tables.format_result(value, units(), self.context.lang, self.t)
        if (self.context.lang == "zh" and isinstance(value, dict) and "text" in value and "value" not in value
                and not value.get("qualifier") and not value.get("text_zh") and is_untranslated(value["text"], "zh")):
            self._record(text)
        return text

    def qty(self, value) -> str:
        return tables.format_quantity(value, units(), self.context.lang)

    def rng(self, value) -> str:
        return tables.format_range(value, units(), self.context.lang)

    def unit(self, code) -> str:
        return tables._unit(code, units(), self.context.lang)

    def criterion(self, acceptance) -> str:
        """Return an acceptance criterion as written, in the document language."""
        return self.tx((acceptance or {}).get("text"))

    def site_name(self, site_id) -> str:
        site = self.get(site_id)
        return self.tx(site.get("legal_name")) if site else str(site_id)

    def address(self, value) -> str:
        """Return an address on one line: in a Chinese document, a Chinese site in Chinese order
        (province, city, district and street with number, building; then the postal code)."""
        if not isinstance(value, dict):
            return ""
        if self.context.lang == "zh":
            return self._address_zh(value)
        parts = address_parts(value, ("building", "street", "postal_code", "city", "region"), self.tx)
        return ", ".join(parts.values()) + f", {value.get('country', '')}"

    def _address_zh(self, value: dict) -> str:
        country = value.get("country", "")
        name = labels().get(f"country_{country}", {}).get("zh") or country
        if country == "CN":
            text = "".join(str(self.tx(value[k])).replace(" ", "") for k in ("region", "city", "street", "building") if value.get(k))
            return text + (f"（邮编：{value['postal_code']}）" if value.get("postal_code") else "")
        parts = list(address_parts(value, ("building", "street", "city", "region", "postal_code"), self.tx).values())
        chinese = [p for p in parts if is_chinese(p)]
        if len(chinese) == len(parts):  # translated: Chinese order, country first
            return name + "".join(reversed(parts))
        # a postal address abroad as the post delivers it, after the parts given in Chinese; the country in Chinese
        postal = ", ".join(p for p in parts if not is_chinese(p))
        return "，".join(chinese + [postal]) + f"（{name}）"

    def batch_pivot(self, spec_id, batch_ids, per_table: int = tables.BATCHES_PER_TABLE):
        """Return the batch tables (tables.batch_pivot), each with 'headers' (a batch column's
        header: its number, and the specification version it was tested against when earlier) and
        'notes' (a sentence per earlier version: the batches, its criteria that differ, the tests
        it did not have, results within its criteria but outside the current ones)."""
        spec = self.get(spec_id)
        groups = tables.batch_pivot(self.context.model, spec, list(batch_ids or []), per_table) if spec else []
        for group in groups:
            group["headers"] = [b.get("number") if v == spec.get("version") else
                                self.t("c_batch_version_header").format(batch=b.get("number"), version=v)
                                for b, v in zip(group["batches"], group["versions"])]
            group["notes"] = [self._version_note(spec, entry) for entry in group["earlier"]]
        return groups

    def _version_note(self, spec: dict, entry: dict) -> str:
        t, sep, version = self.t, self.t("c_list_sep"), entry["version"]
        items, (left, right) = ("；", "（）") if self.context.lang == "zh" else ("; ", "()")
        batches = entry["batches"]
        words = [t("c_earlier_version_tested").format(
            batches=t("c_earlier_version_batch" if len(batches) == 1 else "c_earlier_version_batches").format(numbers=sep.join(batches)),
            version=version, current=spec.get("version"))]
        if entry["changed"]:
            criteria = items.join(f"{self.tx(now.get('name'))}{' ' if left == '(' else ''}{left}{self.criterion(then.get('acceptance'))}{right}" for now, then in entry["changed"])
            words.append(t("c_earlier_version_criteria").format(version=version, criteria=criteria))
        else:
            words.append(t("c_earlier_version_same").format(version=version))
        if entry["absent"]:
            words.append(t("c_earlier_version_absent").format(version=version, tests=items.join(self.tx(x.get("name")) for x in entry["absent"])))
        if entry["beyond"]:
            results = items.join(f"{number} {self.tx(test.get('name'))}{' ' if left == '(' else ''}{left}{self.result(result)}{right}" for number, test, result in entry["beyond"])
            words.append(t("c_earlier_version_beyond").format(version=version, results=results))
        return ("" if self.context.lang == "zh" else " ").join(words)

    def shelf_life_justifications(self, spec: dict) -> list[list[str]]:
        """Return [test, release criterion, shelf-life criterion, justification] for each test of a
        specification whose shelf-life criterion has a justification (ICH Q6A §2.2, Q6B §2.5)."""
        return [[self.tx(test.get("name")), self.criterion(test.get("acceptance")), self.criterion(test.get("shelf_life_acceptance")),
                 self.tx(test.get("shelf_life_justification"))]
                for test in (spec or {}).get("tests", []) or []
                if isinstance(test, dict) and test.get("shelf_life_justification") and isinstance(test.get("shelf_life_acceptance"), dict)]

    def made_from(self, batch) -> list[str]:
        """Return the ids of the lots a batch was made from (made_from, or the older substance_batches)."""
        from .genealogy import parents_of

        return parents_of(batch)

    def genealogy_rows(self, batch_ids, deeper_only: bool = False) -> list[list[str]]:
        """Return the rows of the genealogy table over the lots' whole ancestry (empty when none has parents;
        with deeper_only, also when no parent has parents of its own: 3.2.P.5.4 lists direct ones already)."""
        from .genealogy import genealogy_rows

        return genealogy_rows(self.context.model, list(batch_ids or []), deeper_only, lambda sid: self.tx(self.get(sid).get("name") or self.get(sid).get("substance")) or str(sid),
                              self.site_name)

    def claim_period(self, claim) -> str:
        """Return a claim's period with its unit ('36 months', '6 hours', '6 小时')."""
        from .periods import claim_period

        period = claim_period(claim)
        return period.label(self.context.lang) if period else self.missing("stability.claims.period")

    def patient_lot_rows(self, batch_ids) -> list[list[str]]:
        """Return the rows of the cell-therapy lot table (donor, chain of identity, disposition, dose,
        results pending at release); empty when no lot is a cell-therapy lot."""
        from .model import spec_test
        from .patientlots import lot_rows

        def test_name(spec_id, test_id):
            test = spec_test(self.get(spec_id), test_id) if self.get(spec_id) else None
            return self.tx(test.get("name")) if test else str(test_id)

        return lot_rows(self.context.model, list(batch_ids or []), self.t, self.tx, self.qty, self.rng, test_name)

    def principles_line(self, substance) -> str:
        """Return, for a chemically synthesised intermediate of a biological product, the sentence naming
        the small-molecule guidelines whose principles it follows ('' for any other substance)."""
        from .roles import guidelines

        applied = [g for g in guidelines(self.context.model, substance) if g.applies == "principles"]
        if not applied:
            return ""
        names = self.t("c_list_sep").join(g.guideline for g in applied)
        return self.t("c_principles_line").format(guidelines=names)

    def all_in_months(self, studies) -> bool:
        """True when every study counts its time points in months (a column may then say '(months)')."""
        from .periods import study_unit

        return all(study_unit(s) == "months" for s in studies)

    def data_period(self, study, value, column_in_months: bool = True) -> str:
        """Return the longest time point with data of a study: the number alone for months under a
        column that says months, the number and unit otherwise ('18 months', '24 hours'); '–' without data."""
        from .periods import duration, number_text, study_unit

        if value is None:
            return "–"
        unit = study_unit(study)
        return number_text(value) if unit == "months" and column_in_months else duration(value, unit, self.context.lang)

    def stability_time_points(self, study) -> list:
        """Return the time points of a study that have results, in the study's order (the columns of
        its stability tables, without formatting and flagging every result)."""
        return [p for group in tables.stability_pivot(self.context.model, study) for p in group["time_points"]]

    def stability_pivot(self, study, per_table: int = tables.TIME_POINTS_PER_TABLE):
        """Return the stability tables (tables.stability_pivot), each row with 'shown' (each result as
        printed, with its marks: OOS, OOT, note number) and each table with 'legend' (the marks it
        uses and the notes, in the document language)."""
        from .shelflife import result_flagger

        groups = tables.stability_pivot(self.context.model, study, per_table)
        result_flags = result_flagger(self.context.model)
        for group in groups:
            notes: list = []
            used = set()
            sep = "" if self.context.lang == "zh" else " "
            for row in group["rows"]:
                row["shown"], row["marks_text"] = [], []
                for result, point in zip(row["results"], group["time_points"]):
                    flags = result_flags(study, row["test"]["id"], point)
                    kinds = [kind for kind in ("oos", "oot") if flags[kind]]
                    used.update(kinds)
                    marks = [self.t(f"{kind}_mark") for kind in kinds]
                    if flags["note"] is not None and result:
                        if flags["note"] not in notes:
                            notes.append(flags["note"])
                        marks.append(self.t("note_mark").format(n=notes.index(flags["note"]) + 1))
                    row["shown"].append(sep.join([self.result(result)] + marks))
                    row.setdefault("marks_text", []).append(sep.join(marks))
            legend = [f"{self.t(kind + '_mark')} {self.t(kind + '_legend')}" for kind in ("oos", "oot") if kind in used]
            legend += [f"{self.t('note_mark').format(n=i + 1)} {str(self.md(note)).strip()}" for i, note in enumerate(notes)]
            group["legend"] = legend
        return groups

    def sites_for(self, subject_id):
        return tables.sites_for(self.context.model, subject_id)

    def studies_of(self, subject_id):
        return tables.studies_of(self.context.model, subject_id)

    def claims_of(self, subject_id):
        return [c for c in self.context.model.single("stability").get("claims", []) if c.get("subject") == subject_id]

    def q1e_summary(self, claim):
        """Return the ICH Q1E evaluation of a claim for the document (shelflife.document_summary), or None."""
        from .shelflife import document_summary

        return document_summary(self.context.model, claim, self.t, self.context.lang)

    def trend_figures(self, subject_id) -> list[Markdown]:
        """Return a numbered figure per attribute of the subject's long-term stability evaluation."""
        from .attach import figure_markdown
        from .shelflife import trend_figures

        figures = []
        for attachment, alt, caption in trend_figures(self.context.model, subject_id, self.t, self.context.lang):
            self.figure_count += 1
            self.attachments.append(attachment)
            number = f"{self.t('q1e_figure')} {self.document.heading_number}-{self.figure_count}"
            figures.append(figure_markdown(attachment.name, alt, f"{number} {caption}"))
        return figures

    def flow_figures(self) -> list[Markdown]:
        """Return the numbered flow diagram of the document's manufacturing process (its substance's or
        product's): the applicant's figure when process.flow_diagram names one, else one drawn from the
        steps (flow.py; split over several figures when the process does not fit one page)."""
        from .attach import figure_markdown
        from .flow import process_figures

        scope = self.document.get("substance") or self.document.get("product") or {}
        process = (scope.get("manufacture") or {}).get("process") or {}
        figures = []
        for attachment, alt, caption in process_figures(self.context, self.document, process, self.t, self.tx):
            self.figure_count += 1
            self.attachments.append(attachment)
            number = f"{self.t('q1e_figure')} {self.document.heading_number}-{self.figure_count}"
            figures.append(figure_markdown(attachment.name, alt, f"{number} {caption}"))
        return figures

    def supplied_figure(self, figure: dict, name: str) -> Markdown:
        """Return a numbered figure of an image the applicant supplies (a `figure: {file, caption}` field:
        PNG, or SVG drawn as a vector in the PDF); the image is attached to the document."""
        from .attach import figure_markdown
        from .flow import supplied_figure

        file = str(figure["file"])
        note = getattr(self.context.model.dossier, "note_image", None)  # depends.RecordingDossier: a read of its bytes
        if note:
            note(file)
        attachment = supplied_figure(name, self.context.model.dossier.root, file)
        self.figure_count += 1
        self.attachments.append(attachment)
        caption = self.tx(figure.get("caption"))
        number = f"{self.t('q1e_figure')} {self.document.heading_number}-{self.figure_count}"
        return figure_markdown(attachment.name, caption, f"{number} {caption}")

    def compendial_statement(self) -> Markdown:
        """Return what the 3.2.P.4.1 of a compendial excipient says for the headings that hold no document
        for it (sections.yaml only_when: 3.2.P.4.2 and 3.2.P.4.3 without an in-house specification, 3.2.P.4.4
        without a justification either); nothing for an excipient that has them."""
        excipient = self.document.get("excipient") or {}
        if not excipient.get("grades") or excipient.get("specification") or excipient.get("novel"):
            return Markdown("")
        numbers = {f"p4{n}": shown_number(f"3.2.P.4.{n}", self.context.layout) for n in (2, 3, 4)}
        text = self.t("p_4_compendial_procedures").format(**numbers)
        if not excipient.get("justification"):
            text += (" " if self.context.lang != "zh" else "") + self.t("p_4_compendial_specification").format(**numbers)
        return Markdown("\n" + escape_md(text) + "\n")

    def not_stored_of(self, subject_id):
        """Return the justification of a substance that is never stored (stability.yaml not_stored), or None."""
        for entry in self.context.model.single("stability").get("not_stored", []) or []:
            if isinstance(entry, dict) and entry.get("subject") == subject_id:
                return entry.get("justification")
        return None

    def commitments_of(self, subject_id):
        return [c for c in self.context.model.single("stability").get("commitments", []) or [] if c.get("subject") == subject_id]

    def regional_data(self, name: str) -> dict:
        """Return a regional data set (e.g. 'form_356h', 'eaf', 'uk'): the same dict the JSON package holds."""
        from .regional import DATA

        return DATA[name](self.context.model, self.context.stage)

    def cumulative_lrv(self, steps, virus_id):
        return tables.cumulative_lrv(steps, virus_id)

    def chunks(self, items, size):
        return tables.chunks(list(items), size)
