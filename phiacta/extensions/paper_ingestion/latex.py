"""LaTeX source trees: the main file, the files it `\\input`s or `\\include`s (inside
the tree, each once), and the `.bib` files its `\\bibliography` names (else every
`.bib` in its folder)."""

from __future__ import annotations

import re
from pathlib import Path

from phiacta.extensions.base import Author, ExtractionError, Source
from phiacta.extensions.paper_ingestion.bibtex import read_bibtex_files
from phiacta.extensions.paper_ingestion.document import Document, Section, TableData, section_kind
from phiacta.identifiers import arxiv_ids_in_text, dois_in_text

_INPUT = re.compile(r"\\(?:input|include|subfile)\{([^}]+)\}")
_COMMENT = re.compile(r"(?<!\\)%.*")
_SECTION = re.compile(
    r"\\(section|subsection|subsubsection|paragraph)\*?\{((?:[^{}]|\{[^{}]*\})*)\}"
)
_CITE = re.compile(
    r"\\(?:cite|citep|citet|citealp|parencite|textcite|autocite)\*?(?:\[[^\]]*\])*\{([^}]+)\}"
)
_ENV = re.compile(r"\\(begin|end)\{([a-zA-Z*]+)\}")
_SKIP_ENVS = (
    "figure",
    "figure*",
    "equation",
    "equation*",
    "align",
    "align*",
    "table",
    "table*",
    "tabular",
    "verbatim",
    "lstlisting",
    "thebibliography",
    "tikzpicture",
)
MAX_FILES = 200


def read_latex(source: Source) -> Document:
    if source.path is None:
        raise ExtractionError(f"{source.name}: a LaTeX tree is read from a file")
    text = _expand(source.path, source.path.parent.resolve(), set())
    text = "\n".join(_COMMENT.sub("", line) for line in text.splitlines())
    doc = Document()
    title = re.sub(r"\\thanks\{[^}]*\}", "", _argument(text, "title"))
    doc.title = _clean(title) or None
    for name in re.split(r"\\and|,", _argument(text, "author")):
        cleaned = _clean(re.sub(r"\\(thanks|footnote|inst)\{[^}]*\}", "", name))
        if cleaned:
            doc.authors.append(Author(cleaned))
    # What the paper says of itself stands before its body (a \thanks, \hypersetup).
    head = text.split("\\begin{abstract}", 1)[0][:5000]
    doc.identifiers = dois_in_text(head) + arxiv_ids_in_text(head)
    _tables(doc, text)
    body = text.split("\\begin{document}", 1)[-1].split("\\end{document}", 1)[0]
    _sections(doc, body)
    bibs = re.findall(r"\\(?:bibliography|addbibresource)\{([^}]+)\}", text)
    folder = source.path.parent
    paths = [
        folder / (n.strip() if n.strip().endswith(".bib") else f"{n.strip()}.bib")
        for names in bibs
        for n in names.split(",")
    ]
    doc.references = read_bibtex_files(paths or sorted(folder.glob("*.bib")))
    return doc


def _expand(path: Path, root: Path, seen: set[Path]) -> str:
    resolved = path.resolve()
    if resolved in seen or len(seen) >= MAX_FILES or not resolved.is_relative_to(root):
        return ""
    seen.add(resolved)
    if not resolved.is_file() and resolved.with_suffix(".tex").is_file():
        resolved = resolved.with_suffix(".tex")
    if not resolved.is_file():
        return ""
    text = resolved.read_text(encoding="utf-8", errors="replace")
    # TeX resolves \input names against the main file's folder, not the includer's.
    return _INPUT.sub(lambda m: _expand(root / m.group(1).strip(), root, seen), text)


def _argument(text: str, command: str) -> str:
    m = re.search(r"\\" + command + r"(?:\[[^\]]*\])?\{", text)
    if not m:
        return ""
    depth, start = 1, m.end()
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[start:i]
    return ""


def _clean(text: str) -> str:
    """LaTeX markup to plain text: citations become marks, math and commands go,
    numbers stay exactly as written."""
    text = _CITE.sub(lambda m: "\u27e6cite:" + m.group(1).replace(" ", "") + "\u27e7", text)
    text = re.sub(r"\\(ref|eqref|label|autoref|cref)\{[^}]*\}", "", text)
    text = re.sub(
        r"\\(emph|textbf|textit|texttt|mathrm|text|textsc|underline)\{([^{}]*)\}", r"\2", text
    )
    text = re.sub(r"\\url\{([^}]*)\}", r"\1", text)
    text = re.sub(r"\$([^$]*)\$", lambda m: _inline_math(m.group(1)), text)
    text = text.replace("~", " ").replace("\\%", "%").replace("\\&", "&").replace("``", '"')
    text = text.replace("''", '"').replace("\\\\", " ")
    text = re.sub(r"\\[a-zA-Z]+\*?(\[[^\]]*\])?", "", text)
    text = re.sub(r"[{}]", "", text)
    return " ".join(text.split())


def _inline_math(math: str) -> str:
    # Keep what reads as text: numbers, signs, comparisons ("$p < 0.05$").
    math = math.replace("\\pm", "±").replace("\\times", "\u00d7").replace("\\leq", "≤")
    math = math.replace("\\geq", "≥").replace("\\%", "%").replace("\\,", " ")
    return re.sub(r"\\[a-zA-Z]+", "", math)


def _sections(doc: Document, body: str) -> None:
    abstract = re.search(r"\\begin\{abstract\}(.*?)\\end\{abstract\}", body, re.DOTALL)
    if abstract:
        doc.sections.append(Section("Abstract", "abstract", _paragraphs(abstract.group(1))))
        body = body.replace(abstract.group(0), "")
    parts = _SECTION.split(body)
    doc.sections.append(Section("", "other", _paragraphs(parts[0])))
    kind = "other"
    for i in range(1, len(parts) - 2, 3):
        level, heading, text = parts[i], _clean(parts[i + 1]), parts[i + 2]
        own = section_kind(heading)
        kind = own if level == "section" or own != "other" else kind
        doc.sections.append(Section(heading, kind, _paragraphs(text)))


def _paragraphs(text: str) -> list[str]:
    kept: list[str] = []
    depth = 0
    # Drop environments that hold no prose (figures, equations, tables).
    out: list[str] = []
    pos = 0
    for m in _ENV.finditer(text):
        if m.group(2) not in _SKIP_ENVS:
            continue
        if m.group(1) == "begin":
            if depth == 0:
                out.append(text[pos : m.start()])
            depth += 1
        elif depth > 0:
            depth -= 1
            if depth == 0:
                pos = m.end()
    if depth == 0:
        out.append(text[pos:])
    prose = "".join(out)
    for block in re.split(r"\n\s*\n", prose):
        cleaned = _clean(block)
        if cleaned:
            kept.append(cleaned)
    return kept


def _tables(doc: Document, text: str) -> None:
    for m in re.finditer(r"\\begin\{table\*?\}(.*?)\\end\{table\*?\}", text, re.DOTALL):
        tabular = re.search(
            r"\\begin\{tabular\}\{[^}]*\}(.*?)\\end\{tabular\}", m.group(1), re.DOTALL
        )
        if not tabular:
            continue
        rows = []
        for line in re.split(r"\\\\", tabular.group(1)):
            line = re.sub(r"\\(hline|toprule|midrule|bottomrule)", "", line).strip()
            if line:
                rows.append([_clean(cell) for cell in line.split("&")])
        doc.tables.append(TableData(caption=_clean(_argument(m.group(1), "caption")), rows=rows))
