"""Word lists the rule negator relies on: one place to read and extend them.

They encode English facts the parser does not give us: which nouns only frame another
noun ("an illustration *of a girl*"), which form complex prepositions ("in front *of*"),
and which auxiliaries take "not" after them.
"""

from __future__ import annotations

#: Nouns that show something else: "illustration of a girl" is about the girl, and
#: "an illustration, not of a girl" is a fluent negation when nothing else is offered.
DEPICTION_NOUNS = frozenset(
    """
    illustration illustrations image images picture pictures photo photos photograph
    photographs photography view views closeup close-up up close portrait portraits drawing
    drawings sketch sketches vector vectors video videos footage shot shots render rendering
    renderings detail details silhouette silhouettes cartoon cartoons clip clips animation
    animations painting paintings icon icons diagram diagrams map maps poster posters
    print prints stock snapshot snapshots scene scenes depiction model models
    """.split()
)

#: Nouns that count or group what a caption is about: "a herd of cattle" is about cattle.
QUANTITY_NOUNS = frozenset(
    """
    set sets collection collections selection group groups herd herds flock flocks pack
    crowd crowds line lines row rows pile piles stack stacks bunch bunches lot lots number
    variety pair pairs couple team teams series array kind kinds type types sort sorts
    bouquet cluster swarm school fleet range assortment pattern patterns background
    backgrounds texture textures handful dozens plenty
    """.split()
)

#: Both kinds: the subject is found by following their "of".
FRAME_NOUNS = DEPICTION_NOUNS | QUANTITY_NOUNS

#: Nouns that turn "in front of X", "on top of X", "at the edge of X" into one preposition:
#: the object is X, and the whole phrase is the predicate.
PLACE_NOUNS = frozenset(
    """
    front top middle side sides edge edges center centre bottom back corner end heart
    shape form outskirts foot base rear surface inside outside interior exterior banks bank
    shore shores tip midst
    """.split()
)

#: Adverbs that open a two-word preposition with the preposition after them ("next to").
PREPOSITION_OPENERS = frozenset("next close due ahead out away apart along prior according thanks".split())

#: Determiners dropped when "with a X" becomes "with no X".
INDEFINITE_DETERMINERS = frozenset("a an some any".split())

#: Forms of "be": negated by a following "not" ("is not in the deck").
BE_FORMS = frozenset("is are was were am 's 're 'm be".split())


#: Prepositions whose phrases hanging on a noun are not offered as relations ("more
#: than", "such as"); "of" is offered only when nothing else is ("the beginning, not of
#: the trail"). On a verb they are fine: "does not look like a spaceship".
SKIPPED_PREPOSITIONS = frozenset("of than like as".split())

#: Adverbs that belong to the preposition after them ("right in front of", "just above").
INTENSIFIERS = frozenset(
    "all right just directly high far way straight deep halfway slightly well even only mostly partly".split()
)

#: Prepositional idioms that state no relation to negate ("of course", "at least").
IDIOMS = frozenset(
    (
        "of course", "in fact", "at least", "at most", "at all", "in general", "at first",
        "at last", "in particular", "for example", "for instance", "in addition", "at once",
        "in order", "of all", "on purpose", "by far", "in short", "in turn", "for now",
        "in time", "on time", "at times", "in advance", "in person", "at time", "for time",
        "on way", "in way", "by way", "in case", "at hand", "in touch", "to arms",
        "by step", "by day", "by side", "by one", "to face", "to back", "after day",
    )
)

#: Verbs (base forms) whose first phrase is their complement ("opt for", "rely on", "put the
#: vase on the table"): that phrase is never negated or dropped apart from the verb.
PHRASE_VERBS = frozenset("opt rely depend belong consist refer apply insist dwell put place lean".split())

#: Nouns whose "to" phrase completes them ("access to a bathroom", "the road to the sea"):
#: an exclusion drops the phrase with the noun, or "with access to a bathroom" would
#: leave "to a bathroom" behind.
NOUNS_TAKING_TO = frozenset(
    """
    access entrance entry door doors gate gates road roads path paths way route trip trips visit
    visits journey key keys answer approach gateway passage guide introduction tribute letter
    ticket tickets stairs steps bridge
    """.split()
)

#: Objects that only carry their verb's meaning ("makes her way through the snow"): the
#: verb is negated for a phrase after them as if they were not there.
LIGHT_OBJECTS = frozenset("way ways".split())

#: Verbs (base forms) that end a caption well once their phrase is gone ("the plane flies",
#: "actor arrives"). Any other finite verb left without its complement by an exclusion is
#: dropped with it, so that the subject stands alone ("this property sits" -> "this property").
STANDALONE_VERBS = frozenset(
    """
    fly flow perform arrive walk run swim play dance smile laugh sleep rest wait pose compete
    celebrate speak sing work cry jump fall rise shine glide float stand race train bloom burn
    shop cook eat drink drive ride fish hunt graze relax pray kneel march protest gather
    vote travel climb hike surf ski skate paint read write study talk chat sail row paddle
    wave cheer applaud kiss hug marry smoke sunbathe meditate exercise practise practice
    rain snow melt open close land depart erupt blossom grow
    """.split()
)

#: Verbs (base forms) whose participle needs its complement even after "is" or "being":
#: "the ground is covered", "the office is located" stop short.
COMPLEMENT_VERBS = frozenset(
    """
    get go head use make put place take give keep bring fill cover locate situate base dress
    isolate consist contain include depict feature surround decorate line top pack stuff set
    compose cram load equip adorn frame inspire attach tie clad clothe wrap face reach enter
    deal cope agree disagree interact communicate comply familiarize associate collide see spot
    find hear notice task ask require force allow expect encourage invite schedule opt rely
    depend belong consist refer apply involve
    """.split()
)

#: Verbs (base forms) whose "with" belongs to the verb ("dealing with", "covered with
#: snow"): they are negated as verbs, because "without" would change their meaning.
WITH_VERBS = frozenset(
    """
    deal cope agree disagree interact communicate compete collide cooperate fill cover
    associate comply familiarize equip pack crowd line decorate adorn top stuff load cram
    dot plant litter coat sprinkle garnish fight argue connect merge combine mix pair
    replace trim paint stain clothe surround flood swarm teem brim fit face present help
    assist
    """.split()
)

#: Adverbs that stay before "not" after an auxiliary ("will probably not have").
HEDGING_ADVERBS = frozenset("probably certainly definitely surely likely possibly apparently also".split())

#: Adverbs that stay before "does not" ("also did not speak"); other adverbs right before
#: the verb follow the helper ("does not gently glide").
FRAMING_ADVERBS = HEDGING_ADVERBS | frozenset(
    """
    still already actually just really finally initially often almost kinda usually always
    ever even only then now accidentally simply truly clearly obviously currently recently
    """.split()
)

#: Subjects that negate their clause on their own ("nothing is left", "nobody came").
NEGATIVE_PRONOUNS = frozenset("nothing nobody none noone neither".split())

#: Forms of verbs that only link their subject to a complement ("is in oak", "looks like a
#: spaceship"): an exclusion that drops the complement drops them too.
LINKING_VERB_FORMS = frozenset(
    """
    is are was were be been being am 's 're look looks looked looking seem seems seemed
    appear appears appeared become becomes became remain remains remained stay stays stayed
    """.split()
)

#: Containers whose "of" names the content: "a bottle of beer" -> "a bottle without beer".
CONTAINER_NOUNS = frozenset(
    """
    bowl bowls cup cups glass glasses plate plates bottle bottles basket baskets box boxes
    jar jars bag bags bucket buckets vase vases pot pots tray trays mug mugs jug jugs
    carton cartons packet packets crate crates barrel barrels
    """.split()
)

#: Verbs that open a caption as an imperative without an object ("jump into bed", "feel
#: on top of the world"); other caption-initial base forms without one are nouns the
#: tagger misread ("shower in the main bathroom", "leak in the tap water").
INTRANSITIVE_IMPERATIVES = frozenset(
    """
    jump feel get stop return go come relax look sit stand walk run stay meet join travel
    escape hop step dive listen wait hurry rest sleep dance swim fly climb wake move
    """.split()
)
