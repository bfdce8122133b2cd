"""What the first migration seeds, as tests expect it."""

SEEDED_EDGE_TYPES = {
    # name: (inverse, transitive, symmetric, anti_reflexive, category)
    "supports": ("supported_by", False, False, True, "evidential"),
    "contradicts": ("contradicts", False, True, True, "evidential"),
    "corroborates": ("corroborated_by", False, False, True, "evidential"),
    "depends_on": ("depended_on_by", True, False, True, "logical"),
    "assumes": ("assumed_by", True, False, True, "logical"),
    "derives_from": ("derives", True, False, True, "logical"),
    "implies": ("implied_by", True, False, True, "logical"),
    "equivalent_to": ("equivalent_to", True, True, False, "logical"),
    "generalizes": ("specializes", True, False, True, "structural"),
    "refines": ("refined_by", False, False, True, "structural"),
    "part_of": ("has_part", True, False, True, "structural"),
    "instantiates": ("instantiated_by", False, False, True, "structural"),
    "supersedes": ("superseded_by", True, False, True, "editorial"),
    "related_to": ("related_to", False, True, False, "editorial"),
    "responds_to": ("responded_to_by", False, False, True, "editorial"),
}
