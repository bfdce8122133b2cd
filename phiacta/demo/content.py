# ruff: noqa: E501 -- one claim per line reads better than wrapped prose.
"""The demo graph's text: claims written for Phiacta, in its own words, from facts any
textbook states. Nothing here is quoted from a paper or a website.

Each `Topic` becomes one bundle from one source. Claim lines read
`temp_id type: content`; edge lines read `source edge_type target`, where an end may
name a claim of an earlier topic as `topic/temp_id`. Reviews read
`temp_id reviewer verdict confidence: comment`.
"""

from __future__ import annotations

from dataclasses import dataclass

# The claim GraphiQL's example tabs start from, by its `attrs.demo`.
DEMO_ANCHOR = "cardio/aspirin-secondary"


@dataclass(frozen=True)
class Topic:
    slug: str
    namespace: str
    source_title: str
    claims: str
    edges: str = ""
    reviews: str = ""
    source_type: str = "manual_entry"


THERMODYNAMICS = Topic(
    "thermo",
    "physics.thermodynamics",
    "Demo notes: the laws of thermodynamics",
    """
zeroth definition: Two bodies each in thermal equilibrium with a third are in thermal equilibrium with each other, which is what makes temperature a well-defined quantity.
first theorem: The change in a closed system's internal energy equals the heat added to it minus the work it does on its surroundings.
energy-conserved assertion: Energy is neither created nor destroyed in any physical process; it only changes form.
second-law assertion: The total entropy of an isolated system never decreases over time.
heat-flow assertion: Heat flows spontaneously from a hotter body to a colder one and never the reverse without outside work.
no-perfect-engine assertion: No cyclic engine can turn heat from a single reservoir entirely into work.
carnot theorem: No heat engine working between two reservoirs is more efficient than a reversible engine between the same reservoirs, whose efficiency is one minus the ratio of the cold to the hot absolute temperature.
perpetual-1 assertion: A machine that produces work forever without an energy input is impossible.
perpetual-2 assertion: A machine that produces work forever by cooling a single reservoir is impossible.
third-law assertion: The entropy of a perfect crystal approaches zero as its temperature approaches absolute zero.
absolute-zero assertion: Absolute zero cannot be reached in a finite number of cooling steps.
entropy-stat definition: Entropy counts, on a logarithmic scale, the number of microscopic arrangements consistent with a system's macroscopic state.
fridge observation: A refrigerator moves heat from its cold interior to the warmer kitchen only because its compressor does work.
ice-melts observation: An ice cube left in a warm room melts; the room never spontaneously refreezes it.
kelvin definition: The kelvin scale starts at absolute zero, about minus 273.15 degrees Celsius.
efficiency-limit observation: Real power-station steam turbines convert well under half of their fuel's heat into electricity, below their Carnot limit.
maxwell-demon question: Could a being that sorts fast and slow molecules lower a gas's entropy without paying for it? Landauer's principle answers that erasing its memory costs at least as much entropy.
""",
    """
first depends_on energy-conserved
perpetual-1 depends_on first
second-law implies heat-flow
second-law implies no-perfect-engine
no-perfect-engine implies perpetual-2
carnot depends_on second-law
fridge supports heat-flow
ice-melts supports second-law
efficiency-limit supports carnot
third-law implies absolute-zero
entropy-stat refines second-law
kelvin related_to absolute-zero
maxwell-demon responds_to second-law
zeroth related_to kelvin
""",
    """
second-law reviewer-a endorse 0.97: Stated carefully, for isolated systems.
carnot reviewer-a endorse 0.95: The classic bound.
carnot reviewer-b endorse 0.9: Agreed.
maxwell-demon reviewer-b request_revision 0.6: Say which version of the argument you mean.
""",
)

GENETICS = Topic(
    "genetics",
    "biology.genetics",
    "Demo notes: molecular genetics",
    """
dna-carrier assertion: DNA carries the hereditary information of every cellular organism.
double-helix assertion: DNA is a double helix of two antiparallel strands wound around each other.
pairing assertion: In DNA, adenine pairs with thymine and guanine pairs with cytosine.
chargaff observation: In double-stranded DNA the amount of adenine equals that of thymine, and guanine equals cytosine.
xray observation: X-ray diffraction images of DNA fibres show the regular pattern of a helix.
replication assertion: DNA replication is semiconservative: each new double helix keeps one old strand and gains one new one.
meselson observation: Bacteria grown on heavy nitrogen and moved to light nitrogen yield DNA of intermediate density after one generation.
central-dogma assertion: Genetic information flows from DNA to RNA to protein, and not from protein back to nucleic acid.
codon definition: A codon is a sequence of three nucleotides that specifies one amino acid or a stop signal.
code-redundant assertion: The genetic code is redundant: 64 codons encode 20 amino acids and the stop signal.
code-universal assertion: Nearly all living organisms read the genetic code the same way, with a few small variations.
mutation definition: A mutation is a heritable change in the sequence of an organism's DNA.
selection assertion: Heritable variants that improve survival or reproduction become more common in a population over generations.
mendel-segregation assertion: Each parent passes one of its two copies of a gene to an offspring, chosen at random.
mendel-ratio observation: Crossing two pea plants that both carry one dominant and one recessive allele gives offspring showing the dominant trait about three times as often as the recessive one.
retrovirus observation: Retroviruses copy their RNA genome into DNA with the enzyme reverse transcriptase.
prion question: Do prions, misfolded proteins that template their own misfolding, count as information flowing from protein to protein?
""",
    """
chargaff supports pairing
xray supports double-helix
pairing supports replication
meselson supports replication
double-helix part_of dna-carrier
codon part_of central-dogma
code-redundant depends_on codon
retrovirus refines central-dogma
prion responds_to central-dogma
mutation depends_on dna-carrier
selection depends_on mutation
mendel-ratio supports mendel-segregation
""",
    """
double-helix reviewer-a endorse 0.98: Textbook.
replication reviewer-b endorse 0.95: Meselson and Stahl settled it.
central-dogma reviewer-a endorse 0.8: With the known exceptions noted.
central-dogma reviewer-b dispute 0.55: Reverse transcription makes the strong reading false.
""",
)

CARDIOLOGY = Topic(
    "cardio",
    "medicine.cardiology",
    "Demo notes: preventing heart attacks",
    """
aspirin-platelets assertion: Aspirin irreversibly blocks the enzyme cyclooxygenase in platelets, which makes them less able to clump for the rest of their lifespan.
aspirin-secondary assertion: Daily low-dose aspirin lowers the risk of another heart attack or stroke in people who have already had one.
aspirin-primary assertion: In people without heart disease, daily aspirin prevents few heart attacks and its bleeding risk often outweighs that benefit.
aspirin-bleeding observation: Regular aspirin use increases the rate of stomach and intestinal bleeding.
trials-secondary evidence: Pooled randomized trials in patients after a heart attack show fewer repeat vascular events with aspirin than with placebo.
trials-primary evidence: Large randomized trials in healthy older adults found that daily aspirin did not lengthen life and raised major bleeding.
clot-cause assertion: Most heart attacks happen when a blood clot forms on a ruptured fatty plaque in a coronary artery.
ldl-plaque assertion: High LDL cholesterol in the blood speeds the build-up of plaque in artery walls.
statins-ldl assertion: Statins lower LDL cholesterol by inhibiting the liver enzyme HMG-CoA reductase.
statins-events assertion: Lowering LDL cholesterol with statins reduces heart attacks in people at high cardiovascular risk.
smoking-risk assertion: Smoking tobacco greatly raises the risk of coronary heart disease.
quitting observation: The excess heart-attack risk of former smokers falls steadily in the years after they stop.
bp-risk assertion: High blood pressure is a major risk factor for heart attack, stroke and heart failure.
exercise-bp assertion: Regular aerobic exercise lowers resting blood pressure.
salt-bp assertion: Eating less salt lowers blood pressure, most of all in people whose pressure is high.
chest-pain observation: Crushing chest pain spreading to the arm or jaw is a common sign of a heart attack, though many patients, particularly women and people with diabetes, have atypical symptoms.
""",
    """
aspirin-platelets supports aspirin-secondary
trials-secondary supports aspirin-secondary
trials-primary supports aspirin-primary
aspirin-bleeding supports aspirin-primary
aspirin-primary contradicts aspirin-secondary 0.3
clot-cause supports aspirin-platelets 0.6
ldl-plaque supports statins-events
statins-ldl supports statins-events
quitting supports smoking-risk
exercise-bp related_to bp-risk
salt-bp related_to bp-risk
aspirin-secondary depends_on clot-cause
""",
    """
aspirin-secondary reviewer-a endorse 0.92: Consistent across trials.
aspirin-secondary reviewer-b endorse 0.88: Agreed for secondary prevention.
aspirin-primary reviewer-a endorse 0.75: Current guidance agrees.
aspirin-primary reviewer-b dispute 0.6: Some high-risk groups may still benefit.
statins-events reviewer-b endorse 0.9: Strong trial evidence.
""",
)

CLIMATE = Topic(
    "climate",
    "earth.climate",
    "Demo notes: the greenhouse effect and a warming climate",
    """
co2-absorbs assertion: Carbon dioxide absorbs and re-emits infrared radiation at wavelengths where the Earth radiates heat.
greenhouse assertion: Greenhouse gases keep the Earth's surface far warmer than it would be without an atmosphere.
co2-rise observation: The concentration of carbon dioxide in the atmosphere has risen from about 280 parts per million before industrialisation to over 400 today.
keeling observation: Continuous measurements on Mauna Loa since 1958 show carbon dioxide rising every year, with a seasonal wobble.
fossil-source assertion: Most of the added carbon dioxide comes from burning fossil fuels.
isotopes evidence: The share of carbon-13 in atmospheric carbon dioxide is falling, as expected when carbon from ancient plants is added.
warming observation: The global mean surface temperature has risen by more than one degree Celsius since the late nineteenth century.
human-cause assertion: Human emissions of greenhouse gases are the main cause of the warming observed since the mid twentieth century.
acidification assertion: The oceans take up part of the added carbon dioxide, which lowers the pH of seawater.
sea-level observation: Global mean sea level is rising, from melting land ice and the expansion of warming water.
arctic-ice observation: The extent of Arctic sea ice at its late-summer minimum has shrunk markedly since satellite records began.
stratosphere observation: While the lower atmosphere warms, the stratosphere cools, as expected from more greenhouse gases and not from a brighter Sun.
sun-cause assertion: Changes in the Sun's output explain the recent warming.
sun-flat observation: Satellite measurements show no upward trend in the Sun's output since the late 1970s.
sensitivity question: How much will the global temperature eventually rise for a doubling of atmospheric carbon dioxide? Estimates centre near three degrees Celsius.
""",
    """
co2-absorbs supports greenhouse
keeling supports co2-rise
isotopes supports fossil-source
co2-rise supports human-cause
fossil-source supports human-cause
warming supports human-cause
stratosphere supports human-cause
stratosphere contradicts sun-cause
sun-flat contradicts sun-cause
human-cause depends_on greenhouse
acidification depends_on co2-rise
sea-level corroborates warming
arctic-ice corroborates warming
sensitivity responds_to human-cause
""",
    """
human-cause reviewer-a endorse 0.95: The assessment reports agree.
human-cause reviewer-b endorse 0.9: Multiple independent lines.
sun-cause reviewer-a dispute 0.9: Contradicted by flat solar output.
sun-cause reviewer-b retract 0.85: Should not stand as an open claim.
""",
)

NUMBER_THEORY = Topic(
    "numbers",
    "mathematics.number_theory",
    "Demo notes: primes",
    """
prime-def definition: A prime number is a whole number greater than one whose only positive divisors are one and itself.
has-prime-factor theorem: Every whole number greater than one has at least one prime factor.
infinite-primes theorem: There are infinitely many prime numbers.
euclid-proof method: Multiply any finite list of primes together and add one; the result has a prime factor missing from the list.
fta theorem: Every whole number greater than one is a product of primes in exactly one way, apart from the order of the factors.
sqrt2 theorem: The square root of two is not a ratio of two whole numbers.
pnt theorem: The number of primes up to a large number n is close to n divided by the natural logarithm of n.
flt theorem: No three positive whole numbers a, b and c satisfy a to the n plus b to the n equals c to the n for any whole n greater than two.
goldbach conjecture: Every even number greater than two is the sum of two primes.
goldbach-checked observation: Computer searches have found Goldbach's statement true for every even number up to about four times ten to the eighteenth.
twin-primes conjecture: There are infinitely many pairs of primes that differ by two.
bounded-gaps theorem: There are infinitely many pairs of primes that differ by at most a fixed bound (246 is known to suffice).
riemann conjecture: Every non-trivial zero of the Riemann zeta function has real part one half.
riemann-pnt assertion: If the Riemann hypothesis holds, the prime number theorem's error term is about the square root of n times a logarithm.
""",
    """
has-prime-factor depends_on prime-def
euclid-proof depends_on has-prime-factor
infinite-primes derives_from euclid-proof
fta depends_on has-prime-factor
sqrt2 depends_on fta
pnt depends_on infinite-primes 0.5
goldbach-checked supports goldbach
bounded-gaps supports twin-primes 0.4
twin-primes implies bounded-gaps
riemann-pnt assumes riemann
riemann-pnt refines pnt
""",
    """
infinite-primes reviewer-a endorse 1.0: Euclid's proof.
fta reviewer-b endorse 0.99: Standard.
goldbach reviewer-a request_revision 0.5: Label it clearly as open.
""",
)

RELATIVITY = Topic(
    "relativity",
    "physics.relativity",
    "Demo notes: special and general relativity",
    """
c-constant assertion: The speed of light in vacuum is the same for every observer moving at constant velocity.
c-value definition: The speed of light in vacuum is exactly 299,792,458 metres per second, since the metre is defined from it.
michelson observation: Interferometer experiments found no change in the speed of light with the direction of the Earth's motion.
time-dilation assertion: A moving clock runs slow as seen by an observer relative to whom it moves.
muons observation: Muons made high in the atmosphere reach the ground in numbers that require their decay clocks to run slow.
mass-energy assertion: A body's rest energy equals its mass times the square of the speed of light.
fission observation: The fragments of a split uranium nucleus weigh slightly less than the original, and the missing mass appears as released energy.
gravity-curvature assertion: Gravity is the curvature of spacetime caused by mass and energy.
mercury observation: Mercury's orbit slowly turns about the Sun by an amount Newton's gravity alone does not account for and general relativity does.
light-bending observation: Starlight passing near the Sun during a total eclipse is bent by the amount general relativity predicts.
gravitational-waves observation: Detectors recorded gravitational waves from merging black holes for the first time in 2015.
gps method: Satellite navigation corrects its clocks for both the slowing due to speed and the speeding-up due to weaker gravity in orbit.
clock-altitude observation: Atomic clocks raised by a few tens of centimetres measurably run faster.
""",
    """
michelson supports c-constant
c-constant implies time-dilation
muons supports time-dilation
c-constant implies mass-energy
fission supports mass-energy
mercury supports gravity-curvature
light-bending supports gravity-curvature
gravitational-waves supports gravity-curvature
clock-altitude supports gravity-curvature
gps depends_on time-dilation
gps depends_on gravity-curvature
c-value related_to c-constant
""",
    """
gravity-curvature reviewer-a endorse 0.96: Every test so far agrees.
time-dilation reviewer-b endorse 0.97: Measured directly.
""",
)

IMMUNOLOGY = Topic(
    "immunology",
    "biology.immunology",
    "Demo notes: how vaccines protect",
    """
adaptive assertion: The adaptive immune system learns to recognise specific pathogens and remembers them.
antibodies assertion: B cells make antibodies, proteins that bind to a specific molecular shape on a pathogen.
t-cells assertion: Cytotoxic T cells kill the body's own cells that show signs of infection.
memory assertion: After an infection clears, long-lived memory cells let the immune system respond faster and harder the next time.
vaccine-train assertion: A vaccine trains the adaptive immune system by showing it a harmless form or part of a pathogen.
vaccine-protects assertion: Vaccination lowers the risk of falling ill from the disease it targets.
smallpox observation: Smallpox was declared eradicated worldwide in 1980 after a vaccination campaign.
measles-drop observation: Measles cases and deaths fell sharply in countries after measles vaccination became routine.
herd definition: Herd immunity is the indirect protection of unimmunised people when enough of a population is immune to stop sustained spread.
threshold assertion: The share of a population that must be immune for herd immunity is higher for more contagious diseases.
measles-threshold assertion: Measles is so contagious that about 95 percent of a population must be immune to stop outbreaks.
autism-claim assertion: The measles, mumps and rubella vaccine causes autism.
autism-studies evidence: Large population studies of vaccinated and unvaccinated children found no difference in autism rates.
booster method: A booster dose restores waning protection by re-exposing memory cells to the antigen.
""",
    """
antibodies part_of adaptive
t-cells part_of adaptive
memory part_of adaptive
vaccine-train depends_on memory
vaccine-train implies vaccine-protects
smallpox supports vaccine-protects
measles-drop supports vaccine-protects
threshold refines herd
measles-threshold instantiates threshold
autism-studies contradicts autism-claim
booster depends_on memory
""",
    """
vaccine-protects reviewer-a endorse 0.97: Overwhelming evidence.
autism-claim reviewer-a dispute 0.98: Refuted by large studies.
autism-claim reviewer-b dispute 0.95: Agreed.
""",
)

TOPICS = (THERMODYNAMICS, GENETICS, CARDIOLOGY, CLIMATE, NUMBER_THEORY, RELATIVITY, IMMUNOLOGY)
