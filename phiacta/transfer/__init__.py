"""Export and import in standard formats: NDJSON, JSON-LD, RDF, nanopublications, BibTeX."""
