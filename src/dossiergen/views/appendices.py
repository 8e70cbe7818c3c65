"""Views of the appendices (3.2.A.1 facilities, 3.2.A.2 adventitious agents, 3.2.A.3 novel excipients)."""

from __future__ import annotations

from dataclasses import dataclass

from ..tables import chunks, cumulative_lrv
from ..text import Markdown
from . import ViewContext, view
from .types import NOT_GIVEN, Address, Joined, Missing, NotApplicable, Text

LRV_VIRUSES_PER_TABLE = 5  # model viruses side by side in one log-reduction table (portrait page)


def _justification(c: ViewContext, value, origin: str) -> Text | NotApplicable:
    """Return why an appendix does not apply: as written when it already says "Not applicable",
    else NotApplicable (printed "Not applicable: …")."""
    text = Text.of(value, origin, markdown=True)
    return text if text.pick(c.lang).startswith(c.t("not_applicable")) else NotApplicable(text)


def _subject_name(c: ViewContext, subject_id) -> Text | str:
    subject = c.get(subject_id)
    if "substance" in subject:
        return Text.of(subject["substance"])
    return Text.of(subject["name"]) if "name" in subject else subject_id


# 3.2.A.1 -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Facility:
    heading: Joined            # the site's legal name (and site name)
    address: Address | None
    made_here: Joined          # what is made at the facility
    description: Text | Missing | NotApplicable
    equipment: tuple           # rows: equipment, type, dedicated, room/grade
    equipment_caption: Joined
    equipment_path: str        # the data path a missing equipment list is reported at
    contamination_control: Text | Missing | NotApplicable


@dataclass(frozen=True)
class FacilitiesView:
    absent: Missing | NotApplicable | Text | None  # the whole appendix missing, or why it does not apply
    facilities: tuple[Facility, ...]


@view("a-1")
def facilities(c: ViewContext) -> FacilitiesView:
    fac = c.model.single("appendices").get("facilities")
    if fac is None:
        return FacilitiesView(Missing("appendices.facilities"), ())
    if isinstance(fac, dict):
        return FacilitiesView(_justification(c, fac.get("justification"), "appendices.facilities.justification"), ())
    found = []
    for i, f in enumerate(fac):
        site, where = c.get(f.get("site")), f"appendices.facilities[{i}]"
        name = c.site_name(f.get("site"))
        found.append(Facility(
            Joined((name,) + ((c.t("c_sep"), Text.of(site["site_name"])) if site and "site_name" in site else ())),
            Address.of(site["address"]) if site and "address" in site else None,
            Joined(tuple(_subject_name(c, s) for s in f.get("subjects") or []), c.t("c_list_sep")),
            c.narrative(f.get("description"), f"{where}.description"),
            tuple((Text.of(e.get("name")), c.t(f"c_equipment_{e.get('type')}"), c.t("c_yes") if e.get("dedicated") else c.t("c_no"),
                   e.get("room", NOT_GIVEN)) for e in f.get("equipment") or []),
            Joined((c.t("c_major_equipment"), c.t("c_sep"), name)), f"{where}.equipment",
            c.narrative(f.get("contamination_control"), f"{where}.contamination_control")))
    return FacilitiesView(None, tuple(found))


# 3.2.A.2 -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LrvTable:
    header: tuple              # step, then one column per model virus
    rows: tuple                # per process step, then the cumulative row
    caption: str
    widths: tuple


@dataclass(frozen=True)
class AdventitiousAgentsView:
    absent: Missing | NotApplicable | Text | None
    subjects: Joined | None
    non_viral: Text | Missing | NotApplicable | None
    cell_bank_testing: tuple   # rows: bank, test, method, result
    summary: Text | Missing | NotApplicable | None
    viruses: tuple             # rows: virus, family, genome, enveloped, size
    lrv_tables: tuple[LrvTable, ...]
    lower_bound: bool          # a "≥" value is shown: the note on lower bounds is printed
    uncounted: bool            # a step is not counted: the note is printed
    retrovirus_particles: Text | None


def _lrv(value: float, lower: bool) -> str:
    return ("≥ " if lower else "") + f"{value:.1f}"


@view("a-2")
def adventitious_agents(c: ViewContext) -> AdventitiousAgentsView:
    aa = c.model.single("appendices").get("adventitious_agents")
    where = "appendices.adventitious_agents"
    if aa is None:
        return AdventitiousAgentsView(Missing(where), None, None, (), None, (), (), False, False, None)
    if "justification" in aa:
        return AdventitiousAgentsView(_justification(c, aa["justification"], f"{where}.justification"),
                                      None, None, (), None, (), (), False, False, None)
    subjects = []
    for subject_id in aa.get("subjects") or []:
        subject = c.get(subject_id)
        subjects.append(Joined((Text.of(subject["substance"]), " (", Text.of(subject.get("manufacturer")), ")"))
                        if "substance" in subject else subject_id)
    testing = []
    for test in aa.get("cell_bank_testing") or []:
        bank = c.get(test.get("bank"))
        label = (f"{c.t('bank_type_' + str(bank.get('type')))} {bank.get('lot')}" if bank
                 else c.t("c_unprocessed_bulk") if test.get("bank") == "unprocessed-bulk" else test.get("bank"))
        testing.append((label, Text.of(test.get("test")), test.get("method"), Text.of(test.get("result"))))
    vc = aa.get("viral_clearance") or {}
    viruses, steps = vc.get("viruses") or [], vc.get("steps") or []
    lower_bound, uncounted = False, any(not s.get("counted", True) for s in steps)
    groups = chunks(viruses, LRV_VIRUSES_PER_TABLE)
    tables = []
    for n, group in enumerate(groups, 1):
        rows = []
        for st in steps:
            step, counted = c.get(st.get("step")), st.get("counted", True)
            lower, lrv = st.get("lower_bound") or [], st.get("lrv") or {}
            label = [f"{step.get('number')} ", Text.of(step.get("name"))] if step else [st.get("step")]
            if not counted:
                label.append(f" {c.t('c_not_counted_mark')}")
            cells = [Joined(tuple(label))]
            for v in group:
                if v.get("id") in lrv:
                    lower_bound = lower_bound or v.get("id") in lower
                    cells.append(_lrv(lrv[v["id"]], v.get("id") in lower))
                else:
                    cells.append(NOT_GIVEN)
            rows.append(tuple(cells))
        total = [Markdown(f"**{c.t('cumulative')}**")]
        for v in group:
            bound = any(s.get("counted", True) and v.get("id") in (s.get("lrv") or {}) and v.get("id") in (s.get("lower_bound") or [])
                        for s in steps)
            total.append(_lrv(cumulative_lrv(steps, v.get("id")), bound))
        rows.append(tuple(total))
        caption = c.t("c_lrv_caption") + (f" ({n}/{len(groups)})" if len(groups) > 1 else "")
        tables.append(LrvTable((c.t("step"),) + tuple(Text.of(v.get("name")) for v in group), tuple(rows), caption,
                               (4,) + (2,) * len(group)))
    return AdventitiousAgentsView(
        None, Joined(tuple(subjects), "; "), c.narrative(aa.get("non_viral"), f"{where}.non_viral"), tuple(testing),
        c.narrative(vc["summary"], f"{where}.viral_clearance.summary") if "summary" in vc else None,
        tuple((Text.of(v.get("name")), Text.of(v.get("family")), v.get("genome"), c.t("c_yes") if v.get("enveloped") else c.t("c_no"),
               v.get("size_nm")) for v in viruses),
        tuple(tables), lower_bound, uncounted,
        Text.of(vc["retrovirus_particles_per_dose"]) if "retrovirus_particles_per_dose" in vc else None)


# 3.2.A.3 -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NovelExcipient:
    name: Text
    function: Text
    supplier: str | None
    information: Text | Missing | NotApplicable


@dataclass(frozen=True)
class NovelExcipientsView:
    excipients: tuple[NovelExcipient, ...]
    justification: Text | NotApplicable | None  # no novel excipient, and the data says why the appendix does not apply


@view("a-3")
def novel_excipients(c: ViewContext) -> NovelExcipientsView:
    novel = [e.data for e in c.model.of_type("excipient") if e.data.get("novel")]
    found = tuple(NovelExcipient(Text.of(e.get("name")), Text.of(e.get("function")), e.get("supplier"),
                                 c.narrative(e["novel_information"], f"excipients[id={e.get('id')}].novel_information")
                                 if "novel_information" in e else Missing(f"excipients[id={e.get('id')}].novel_information"))
                  for e in novel)
    ne = c.model.single("appendices").get("novel_excipients")
    justification = (_justification(c, ne["justification"], "appendices.novel_excipients.justification")
                     if not found and isinstance(ne, dict) and "justification" in ne else None)
    return NovelExcipientsView(found, justification)
