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
    # cells and vectors (issue 16): no viral clearance; replication-competent virus, donor, biological materials
    show_viral_clearance: bool = True
    no_viral_clearance: NotApplicable | None = None  # a vector or living cells: why there are no clearance studies
    show_cell_bank_testing: bool = True
    biological_materials: tuple = ()  # rows: material, source, where used, TSE and viral safety
    replication_competent: tuple = ()  # rows: material tested, test, method, result
    donor: tuple = ()          # rows: item, detail (donor type, eligibility)
    donor_tests: tuple = ()    # rows: marker, method, timing


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
    genetic = _genetic(c, aa)
    return AdventitiousAgentsView(
        None, Joined(tuple(subjects), "; "), c.narrative(aa.get("non_viral"), f"{where}.non_viral"), tuple(testing),
        c.narrative(vc["summary"], f"{where}.viral_clearance.summary") if "summary" in vc else None,
        tuple((Text.of(v.get("name")), Text.of(v.get("family")), v.get("genome"), c.t("c_yes") if v.get("enveloped") else c.t("c_no"),
               v.get("size_nm")) for v in viruses),
        tuple(tables), lower_bound, uncounted,
        Text.of(vc["retrovirus_particles_per_dose"]) if "retrovirus_particles_per_dose" in vc else None,
        not genetic or bool(vc), NotApplicable(Text.of(c.t("c_no_viral_clearance"))) if genetic and not vc else None,
        not genetic or bool(testing), _biological_materials(c, aa), _replication_competent(c, aa, where),
        *_donor(c, aa.get("donor"), f"{where}.donor"))


GENETIC_MOLECULES = ("car_t", "gene_therapy")


def _genetic(c: ViewContext, aa: dict) -> bool:
    """True for cells or a viral vector (a CAR-T or gene therapy, or a covered substance whose
    structure is a vector or cells): they cannot undergo viral inactivation or removal."""
    if c.model.single("application").get("molecule_type") in GENETIC_MOLECULES:
        return True
    return any(((c.get(s).get("general") or {}).get("structure") or {}).get("type") in ("vector", "cells")
               for s in aa.get("subjects") or [])


def _biological_materials(c: ViewContext, aa: dict) -> tuple:
    """Materials of human or animal origin of the covered substances (3.2.S.2.3 raw materials) and
    the products' excipients of human or animal origin, with what assures their TSE and viral safety;
    none when no raw material states its safety (the non-viral narrative then covers them)."""
    rows, stated = [], False
    for subject_id in aa.get("subjects") or []:
        subject = c.get(subject_id)
        for m in ((subject.get("manufacture") or {}).get("materials") or {}).get("raw_materials") or []:
            if isinstance(m, dict) and m.get("biological_origin"):
                stated = stated or "safety" in m
                rows.append((Text.of(m.get("name")), Text.of(m["source"]) if "source" in m else NOT_GIVEN,
                             Text.of(subject.get("substance")), Text.of(m["safety"]) if "safety" in m else NOT_GIVEN))
    for product in c.model.of_type("product"):
        for component in product.data.get("composition") or []:
            excipient = c.get(component.get("component")) if isinstance(component, dict) else {}
            if excipient.get("human_or_animal_origin"):
                rows.append((Text.of(excipient.get("name")), Text.of(c.t("c_human_or_animal_origin")), Text.of(product.data.get("name")),
                             Text.of(excipient["origin_statement"]) if "origin_statement" in excipient else NOT_GIVEN))
    return tuple(rows) if stated else ()


def _replication_competent(c: ViewContext, aa: dict, where: str) -> tuple:
    rows = []
    for i, test in enumerate(aa.get("replication_competent_virus") or []):
        subject = c.get(test.get("subject")) if "subject" in test else {}
        material = c.t(f"c_rcv_material_{test.get('material')}")
        name = subject.get("substance") or subject.get("name")
        rows.append((Joined((material, " (", Text.of(name), ")")) if name else material,
                     Text.of(test.get("test"), f"{where}.replication_competent_virus.{i}.test"),
                     Text.of(test.get("method")), Text.of(test.get("result"))))
    return tuple(rows)


def _donor(c: ViewContext, donor, where: str) -> tuple:
    """Return the donor's facts (type, eligibility) and test rows; empty when no donor is given."""
    if not isinstance(donor, dict):
        return (), ()
    facts = ((c.t("c_donor_type"), c.t(f"c_donor_{donor.get('type')}")),
             (c.t("c_donor_eligibility"), Text.of(donor.get("eligibility"), f"{where}.eligibility")))
    tests = tuple((Text.of(t.get("marker")), Text.of(t.get("method")), Text.of(t["timing"]) if "timing" in t else NOT_GIVEN)
                  for t in donor.get("testing") or [] if isinstance(t, dict))
    return facts, tests


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
