"""Demo topics written from tables of well-known values: one sentence per row."""

from __future__ import annotations

from phiacta.demo.content import Topic

# name, symbol, atomic number, family
ELEMENTS = [
    ("hydrogen", "H", "reactive nonmetal"), ("helium", "He", "noble gas"),
    ("lithium", "Li", "alkali metal"), ("beryllium", "Be", "alkaline earth metal"),
    ("boron", "B", "metalloid"), ("carbon", "C", "reactive nonmetal"),
    ("nitrogen", "N", "reactive nonmetal"), ("oxygen", "O", "reactive nonmetal"),
    ("fluorine", "F", "halogen"), ("neon", "Ne", "noble gas"),
    ("sodium", "Na", "alkali metal"), ("magnesium", "Mg", "alkaline earth metal"),
    ("aluminium", "Al", "post-transition metal"), ("silicon", "Si", "metalloid"),
    ("phosphorus", "P", "reactive nonmetal"), ("sulfur", "S", "reactive nonmetal"),
    ("chlorine", "Cl", "halogen"), ("argon", "Ar", "noble gas"),
    ("potassium", "K", "alkali metal"), ("calcium", "Ca", "alkaline earth metal"),
    ("scandium", "Sc", "transition metal"), ("titanium", "Ti", "transition metal"),
    ("vanadium", "V", "transition metal"), ("chromium", "Cr", "transition metal"),
    ("manganese", "Mn", "transition metal"), ("iron", "Fe", "transition metal"),
    ("cobalt", "Co", "transition metal"), ("nickel", "Ni", "transition metal"),
    ("copper", "Cu", "transition metal"), ("zinc", "Zn", "transition metal"),
    ("gallium", "Ga", "post-transition metal"), ("germanium", "Ge", "metalloid"),
    ("arsenic", "As", "metalloid"), ("selenium", "Se", "reactive nonmetal"),
    ("bromine", "Br", "halogen"), ("krypton", "Kr", "noble gas"),
    ("rubidium", "Rb", "alkali metal"), ("strontium", "Sr", "alkaline earth metal"),
    ("yttrium", "Y", "transition metal"), ("zirconium", "Zr", "transition metal"),
    ("niobium", "Nb", "transition metal"), ("molybdenum", "Mo", "transition metal"),
    ("technetium", "Tc", "transition metal"), ("ruthenium", "Ru", "transition metal"),
    ("rhodium", "Rh", "transition metal"), ("palladium", "Pd", "transition metal"),
    ("silver", "Ag", "transition metal"), ("cadmium", "Cd", "transition metal"),
    ("indium", "In", "post-transition metal"), ("tin", "Sn", "post-transition metal"),
    ("antimony", "Sb", "metalloid"), ("tellurium", "Te", "metalloid"),
    ("iodine", "I", "halogen"), ("xenon", "Xe", "noble gas"),
]  # fmt: skip

FAMILIES = {
    "noble gas": "Noble gases have full outer electron shells and form almost no compounds.",
    "alkali metal": "Alkali metals have one outer electron, which they give up readily; "
    "they react vigorously with water.",
    "alkaline earth metal": "Alkaline earth metals have two outer electrons and form "
    "ions with a charge of plus two.",
    "halogen": "Halogens need one more electron to fill their outer shell and are "
    "strongly reactive nonmetals.",
    "metalloid": "Metalloids have properties between those of metals and nonmetals; "
    "several are semiconductors.",
    "transition metal": "Transition metals fill an inner d shell; many form coloured "
    "compounds and serve as catalysts.",
    "post-transition metal": "Post-transition metals are soft metals to the right of the "
    "transition block.",
    "reactive nonmetal": "Reactive nonmetals form covalent compounds with each other and "
    "ionic ones with metals.",
}

# name, order from the Sun, mean distance in astronomical units, orbital period in
# Earth years, kind
PLANETS = [
    ("Mercury", 1, "0.39", "0.24", "rocky"), ("Venus", 2, "0.72", "0.62", "rocky"),
    ("Earth", 3, "1.00", "1.00", "rocky"), ("Mars", 4, "1.52", "1.88", "rocky"),
    ("Jupiter", 5, "5.20", "11.9", "gas giant"), ("Saturn", 6, "9.54", "29.5", "gas giant"),
    ("Uranus", 7, "19.2", "84", "ice giant"), ("Neptune", 8, "30.1", "165", "ice giant"),
]  # fmt: skip

SI_UNITS = [
    ("second", "time", "a fixed number of oscillations of the caesium-133 atom"),
    ("metre", "length", "the distance light travels in vacuum in a fixed fraction of a second"),
    ("kilogram", "mass", "a fixed value of the Planck constant"),
    ("ampere", "electric current", "a fixed value of the elementary charge"),
    ("kelvin", "temperature", "a fixed value of the Boltzmann constant"),
    ("mole", "amount of substance", "a fixed value of the Avogadro constant"),
    ("candela", "luminous intensity", "a fixed luminous efficacy of green light"),
]

# prefix, symbol, power of ten
SI_PREFIXES = [
    ("pico", "p", -12), ("nano", "n", -9), ("micro", "µ", -6), ("milli", "m", -3),
    ("centi", "c", -2), ("deci", "d", -1), ("kilo", "k", 3), ("mega", "M", 6),
    ("giga", "G", 9), ("tera", "T", 12),
]  # fmt: skip

ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth"]


def _slug(text: str) -> str:
    return text.replace(" ", "-")


def elements_topic() -> Topic:
    claims = [
        "periodic-law assertion: Arranged by atomic number, the chemical elements show "
        "properties that repeat in regular periods.",
        "atomic-number definition: An element's atomic number is the number of protons in "
        "the nucleus of each of its atoms.",
    ]
    edges = []
    for family, text in FAMILIES.items():
        claims.append(f"family-{_slug(family)} definition: {text}")
        edges.append(f"family-{_slug(family)} part_of periodic-law")
    for number, (name, symbol, family) in enumerate(ELEMENTS, start=1):
        claims.append(
            f"z{number} assertion: {name.capitalize()} (symbol {symbol}) has atomic number "
            f"{number}: each of its atoms has {number} protons in its nucleus, and it is "
            f"classed as a {family}."
        )
        edges.append(f"z{number} instantiates family-{_slug(family)}")
        edges.append(f"z{number} depends_on atomic-number")
    return Topic(
        "elements",
        "chemistry.elements",
        "Demo notes: the first 54 elements",
        "\n".join(claims),
        "\n".join(edges),
        "periodic-law reviewer-a endorse 0.99: Mendeleev's insight, refined by Moseley.",
    )


def planets_topic() -> Topic:
    claims = [
        "heliocentric assertion: The planets, the Earth among them, orbit the Sun.",
        "kepler3 theorem: The square of a planet's orbital period is proportional to the "
        "cube of its mean distance from the Sun.",
        "pluto observation: Since 2006 Pluto has been classed as a dwarf planet, because it "
        "has not cleared its orbit of other bodies.",
        "eight-planets assertion: The Solar System has eight planets.",
    ]
    edges = ["kepler3 depends_on heliocentric", "pluto supports eight-planets"]
    for name, order, distance, period, kind in PLANETS:
        key = name.lower()
        claims.append(
            f"{key}-orbit observation: {name}, the {ORDINALS[order - 1]} planet from the Sun, "
            f"orbits at a mean distance of about {distance} astronomical units and takes "
            f"about {period} Earth years to go round once."
        )
        claims.append(f"{key}-kind assertion: {name} is a {kind} planet.")
        edges.append(f"{key}-orbit supports kepler3")
        edges.append(f"{key}-kind part_of eight-planets")
    return Topic(
        "planets",
        "astronomy.solar_system",
        "Demo notes: the planets",
        "\n".join(claims),
        "\n".join(edges),
        "kepler3 reviewer-b endorse 0.98: Follows from Newton's gravity too.",
    )


def units_topic() -> Topic:
    claims = [
        "si assertion: The International System of Units rests on seven base units, each "
        "defined since 2019 by fixing the value of a constant of nature.",
    ]
    edges = []
    for unit, quantity, basis in SI_UNITS:
        claims.append(
            f"unit-{unit} definition: The {unit} is the SI base unit of {quantity}, defined "
            f"through {basis}."
        )
        edges.append(f"unit-{unit} part_of si")
    for prefix, symbol, power in SI_PREFIXES:
        claims.append(
            f"prefix-{prefix} definition: The SI prefix {prefix} (symbol {symbol}) multiplies "
            f"a unit by ten to the power {power}."
        )
        edges.append(f"prefix-{prefix} part_of si")
    edges.append("unit-kelvin related_to thermo/kelvin")
    edges.append("unit-metre depends_on relativity/c-value")
    return Topic(
        "units",
        "physics.units",
        "Demo notes: SI base units and prefixes",
        "\n".join(claims),
        "\n".join(edges),
    )
