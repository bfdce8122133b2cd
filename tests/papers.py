# ruff: noqa: E501 (the documents are data, their lines as a writer would leave them)
"""Papers built at test time in every format paper-ingestion reads, with known claims,
references and a table, so the tests can say exactly what must come out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from fpdf import FPDF

ABSTRACT = (
    "We show that a 200 mg dose of caffeine reduced mean reaction time by 12.5 ms "
    "(p < 0.01) in 48 rested adults."
)
INTRODUCTION = (
    "Caffeine is widely studied as a stimulant of attention, as Smith et al. reviewed "
    "in 2019 for working adults."
)
METHODS = [
    "We measured reaction time with a 10-trial visual task before and 45 min after the "
    "dose, e.g. at 09:00 in a quiet room.",
    "Participants were randomized to caffeine or placebo groups of 24 each.",
]
RESULTS = [
    "Caffeine reduced mean reaction time from 301.2 ms to 288.7 ms in the visual task, "
    "as shown in Fig. 3.",
    "The reduction in reaction time was significantly larger in participants who slept "
    "more than 7.5 h, as Jones et al. predicted.",
]
CONCLUSION = "These results indicate that caffeine reduced reaction time in rested adults."
ACKNOWLEDGEMENT = "We thank the volunteers and acknowledge funding by grant 12345."
TABLE = [
    ["Group", "Before (ms)", "After (ms)"],
    ["Caffeine", "301.2", "288.7"],
    ["Placebo", "300.9", "299.8"],
]
EXTERNAL_DOI = "10.1000/external.ref-1"
ARXIV = "2101.00001"


@dataclass
class Paper:
    """What a test paper says; `cites` are DOIs (any spelling) of works it cites."""

    title: str
    doi: str
    cites: list[str] = field(default_factory=list)

    @property
    def references(self) -> list[tuple[str, str]]:
        """(key, DOI) of every entry of the bibliography, cited first."""
        dois = [*self.cites, EXTERNAL_DOI]
        return [(f"ref{i + 1}", doi) for i, doi in enumerate(dois)]

    @property
    def claims(self) -> list[str]:
        return [ABSTRACT, *METHODS, *RESULTS, CONCLUSION]


def write_markdown(paper: Paper, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    bib = "\n".join(
        f"@article{{{key},\n  title = {{Cited work {key}}},\n  author = {{Doe, Jane}},\n"
        f"  year = {{2020}},\n  doi = {{{doi}}}\n}}\n"
        for key, doi in paper.references
    )
    bib += f"@misc{{arx,\n  title={{A preprint}},\n  eprint={{{ARXIV}}},\n  archivePrefix={{arXiv}}\n}}\n"
    (folder / "paper.bib").write_text(bib)
    cites = "; ".join(f"@{k}" for k, _ in paper.references)
    table = "\n".join("| " + " | ".join(row) + " |" for row in TABLE[:1])
    table += "\n| --- | --- | --- |\n" + "\n".join("| " + " | ".join(r) + " |" for r in TABLE[1:])
    text = f"""---
title: "{paper.title}"
authors:
  - name: Ada Lovelace
    orcid: 0000-0002-1825-0097
  - name: Alan Turing
date: 12 March 2024
doi: {paper.doi}
bibliography: paper.bib
---

# Summary

{ABSTRACT}

# Statement of need

{INTRODUCTION} [@arx]

# Methods

{METHODS[0]}
{METHODS[1]}

# Results

{RESULTS[0][:-1]} [{cites}].

{RESULTS[1]}

Table 1: reaction times.

{table}

# Conclusion

{CONCLUSION}

# Acknowledgements

{ACKNOWLEDGEMENT}

# References
"""
    path = folder / "paper.md"
    path.write_text(text)
    return path


def write_jats(
    paper: Paper, folder: Path, dtd_url: str = "http://127.0.0.1:9/JATS-journalpublishing1.dtd"
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    e = escape
    refs = "\n".join(
        f'<ref id="{key}"><element-citation><article-title>Cited {key}</article-title>'
        f'<year>2020</year><pub-id pub-id-type="doi">{doi}</pub-id></element-citation></ref>'
        for key, doi in paper.references
    )
    xrefs = "".join(
        f'<xref ref-type="bibr" rid="{k}">{i + 1}</xref>'
        for i, (k, _) in enumerate(paper.references)
    )
    rows = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in TABLE)
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE article PUBLIC "-//NLM//DTD JATS (Z39.96) Journal Publishing DTD v1.2 20190208//EN" "{dtd_url}">
<article xmlns:xlink="http://www.w3.org/1999/xlink" article-type="research-article">
<front>
<journal-meta><journal-title-group><journal-title>Journal of Tests</journal-title></journal-title-group></journal-meta>
<article-meta>
<article-id pub-id-type="doi">{paper.doi}</article-id>
<article-id pub-id-type="pmid">31415926</article-id>
<title-group><article-title>{paper.title}</article-title></title-group>
<contrib-group>
<contrib contrib-type="author"><contrib-id contrib-id-type="orcid">https://orcid.org/0000-0002-1825-0097</contrib-id><name><surname>Lovelace</surname><given-names>Ada</given-names></name></contrib>
</contrib-group>
<pub-date><year>2024</year></pub-date>
<abstract><p>{e(ABSTRACT)}</p></abstract>
</article-meta>
</front>
<body>
<sec><title>Introduction</title><p>{e(INTRODUCTION)}</p></sec>
<sec><title>Methods</title><p>{e(METHODS[0])} {e(METHODS[1])}</p></sec>
<sec><title>Results</title><p>{e(RESULTS[0][:-1])} {xrefs}.</p><p>{e(RESULTS[1])}</p>
<table-wrap id="t1"><label>Table 1</label><caption><p>Reaction times.</p></caption><table><tbody>{rows}</tbody></table></table-wrap>
</sec>
<sec><title>Conclusions</title><p>{e(CONCLUSION)}</p></sec>
</body>
<back>
<ack><p>{e(ACKNOWLEDGEMENT)}</p></ack>
<ref-list>{refs}</ref-list>
</back>
</article>
"""
    path = folder / "paper.xml"
    path.write_text(text)
    return path


def write_latex(paper: Paper, folder: Path) -> Path:
    (folder / "sections").mkdir(parents=True, exist_ok=True)
    keys = ",".join(k for k, _ in paper.references)
    bib = "\n".join(
        f"@article{{{k}, title={{Cited {k}}}, year={{2020}}, doi={{{d}}}}}"
        for k, d in paper.references
    )
    (folder / "refs.bib").write_text(bib)
    (folder / "sections" / "methods.tex").write_text(
        "\\section{Methods}\n" + METHODS[0] + "\n" + METHODS[1] + "\n\\input{sections/results}\n"
    )
    (folder / "sections" / "results.tex").write_text(
        f"\\section{{Results}}\n{RESULTS[0][:-1]}~\\cite{{{keys}}}.\n\n{RESULTS[1]}\n\n"
        "\\begin{table}\\caption{Reaction times.}\\begin{tabular}{lll}\n"
        + " \\\\\n".join(" & ".join(row) for row in TABLE)
        + " \\\\\n\\end{tabular}\\end{table}\n"
    )
    text = f"""\\documentclass{{article}}
\\title{{{paper.title}\\thanks{{Published as doi:{paper.doi}}}}}
\\author{{Ada Lovelace \\and Alan Turing}}
\\begin{{document}}
\\maketitle
% doi: this comment is ignored
\\begin{{abstract}}
{ABSTRACT.replace("p < 0.01", "$p < 0.01$")}
\\end{{abstract}}
\\section{{Introduction}}
{INTRODUCTION}
\\input{{sections/methods}}
\\section{{Conclusion}}
{CONCLUSION}
\\section*{{Acknowledgements}}
{ACKNOWLEDGEMENT}
\\bibliography{{refs}}
\\end{{document}}
"""
    path = folder / "main.tex"
    path.write_text(text)
    return path


def _plain(paper: Paper) -> list[str]:
    refs = [
        f"[{i + 1}] J. Doe. Cited work. 2020. https://doi.org/{doi}"
        for i, (_, doi) in enumerate(paper.references)
    ]
    cites = ", ".join(str(i + 1) for i in range(len(paper.references)))
    return [
        paper.title,
        f"doi:{paper.doi}",
        "",
        "Abstract",
        ABSTRACT,
        "",
        "1 Introduction",
        INTRODUCTION,
        "",
        "2 Methods",
        METHODS[0],
        METHODS[1],
        "",
        "3 Results",
        f"{RESULTS[0][:-1]} [{cites}].",
        "",
        RESULTS[1],
        "",
        "Table 1: reaction times.",
        *("   ".join(row) for row in TABLE),
        "",
        "4 Conclusion",
        CONCLUSION,
        "",
        "Acknowledgements",
        ACKNOWLEDGEMENT,
        "",
        "References",
        *refs,
    ]


def write_text(paper: Paper, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "paper.txt"
    path.write_text("\n".join(_plain(paper)) + "\n")
    return path


def write_pdf(paper: Paper, folder: Path) -> Path:
    """A two-column PDF: the title across the page, then the body flowing down the
    left column and on into the right one."""
    folder.mkdir(parents=True, exist_ok=True)
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=False)
    pdf.add_page()
    pdf.set_font("Helvetica", size=14)
    pdf.set_xy(15, 15)
    pdf.multi_cell(180, 7, paper.title)
    pdf.set_font("Helvetica", size=9)
    pdf.set_x(15)
    pdf.multi_cell(180, 5, f"doi:{paper.doi}")
    body = _plain(paper)[3:]
    column_width, top, bottom = 85.0, pdf.get_y() + 6, 140.0
    x, y = 15.0, top
    for line in body:
        if "   " in line:
            # A table row: each cell placed in its own column, as a typesetter would.
            for i, cell in enumerate(line.split("   ")):
                pdf.set_xy(x + 28 * i, y)
                pdf.cell(28, 4.5, cell)
            y += 4.5
            continue
        lines = pdf.multi_cell(column_width, 4.5, line or " ", dry_run=True, output="LINES")
        for text in lines or [" "]:
            if y > bottom:
                x, y = (110.0, top) if x < 100 else (15.0, 15.0)
                if x == 15.0:
                    pdf.add_page()
            pdf.set_xy(x, y)
            pdf.cell(column_width, 4.5, text)
            y += 4.5
        if not line:
            y += 4.5
    path = folder / "paper.pdf"
    pdf.output(str(path))
    return path


WRITERS = {
    "pdf": write_pdf,
    "markdown": write_markdown,
    "jats": write_jats,
    "latex": write_latex,
    "text": write_text,
}
