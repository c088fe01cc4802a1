"""Hand-checked cases for the rule negator: the paper's examples and real CC3M captions.

Every caption under ``CC3M_CASES`` is copied verbatim from the CC3M validation rows of
the development file (lower-case, spaces before punctuation). For each one we fixed the
pair to negate (``chosen``) and wrote down the expected subject, all pairs, and both
output sentences after reading them for fluency and meaning.

The paper's demonstrations (``PAPER_CASES``) keep the paper's own outputs next to ours
where a rule cannot reproduce an LLM's paraphrase; ``paper_*`` fields say what the paper
printed, for the record.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RuleCase:
    caption: str
    subject: str
    relations: tuple[tuple[str, str], ...]  # (object, predicate) in caption order
    chosen: str  # the object whose link is negated
    negated: str
    exclusion: str
    paper_negated: str | None = None
    paper_exclusion: str | None = None


#: The paper's few-shot demonstrations and published pairs (ccneg-facts, section 1).
PAPER_CASES = (
    RuleCase(
        caption="A woman next to a table in the dining area",
        subject="woman",
        relations=(("table", "next to a"), ("dining area", "in the")),
        chosen="table",
        negated="A woman, not next to a table, in the dining area",
        exclusion="A woman in the dining area",
        paper_negated="A woman, not next to a table, in the dining area.",
        paper_exclusion="A woman in the dining area",
    ),
    RuleCase(
        caption="A flag on a dome",
        subject="flag",
        relations=(("dome", "on a"),),
        chosen="dome",
        negated="A flag, not on a dome",
        exclusion="A flag",
        paper_negated="A flag, not on a dome",
        paper_exclusion="A flag",
    ),
    RuleCase(
        caption="A person on skis makes her way through the snow",
        subject="person",
        relations=(("skis", "on"), ("her way", "makes"), ("snow", "through the")),
        chosen="snow",
        negated="A person on skis does not make her way through the snow",
        exclusion="A person on skis makes her way",
        # The paper shows two negations of this caption: "A person on skis does not make
        # her way through the snow" (published pair, which we reproduce) and, as a
        # demonstration, "A person on skis without snow" / "A person on skis".
        paper_negated="A person on skis does not make her way through the snow",
        paper_exclusion="A person on skis",
    ),
    RuleCase(
        caption="Jungle with a mountain in the distance.",
        subject="Jungle",
        relations=(("mountain", "with a"), ("distance", "in the")),
        chosen="mountain",
        negated="Jungle without a mountain in the distance.",
        exclusion="Jungle in the distance.",
        paper_negated="Jungle without a mountain in the distance.",
    ),
    RuleCase(
        caption="Aerial view of a meteor over the clouds",
        subject="meteor",
        relations=(("clouds", "over the"),),
        chosen="clouds",
        # The paper's LLM paraphrased to "with no clouds"; rules negate the stated link.
        negated="Aerial view of a meteor, not over the clouds",
        exclusion="Aerial view of a meteor",
        paper_negated="Aerial view of a meteor with no clouds",
    ),
)

#: Real CC3M captions of varied grammar: verbs, prepositions, "with", lists, copulas,
#: "illustration of ...", compound prepositions, auxiliaries, passives and adverbs.
CC3M_CASES = (
    RuleCase(
        caption='photograph of the sign being repaired by brave person',
        subject='sign',
        relations=(('brave person', 'by'),),
        chosen='brave person',
        negated='photograph of the sign not being repaired by brave person',
        exclusion='photograph of the sign being repaired',
    ),
    RuleCase(
        caption='illustration of a little girl taking a bath',
        subject='little girl',
        relations=(('bath', 'taking'),),
        chosen='bath',
        negated='illustration of a little girl not taking a bath',
        exclusion='illustration of a little girl',
    ),
    RuleCase(
        caption='father and son putting on ice skates near frozen lake',
        subject='father',
        relations=(('son', 'and'), ('ice skates', 'putting on'), ('frozen lake', 'near')),
        chosen='son',
        negated='father without son putting on ice skates near frozen lake',
        exclusion='father putting on ice skates near frozen lake',
    ),
    RuleCase(
        caption='the dentist drill the tooth with a turbine',
        subject='dentist',
        relations=(('tooth', 'drill'), ('turbine', 'with a')),
        chosen='turbine',
        negated='the dentist drill the tooth without a turbine',
        exclusion='the dentist drill the tooth',
    ),
    RuleCase(
        caption='sandcastle beach on bright sky .',
        subject='sandcastle beach',
        relations=(('bright sky', 'on'),),
        chosen='bright sky',
        negated='sandcastle beach , not on bright sky .',
        exclusion='sandcastle beach .',
    ),
    RuleCase(
        caption='a man on a scooter , taking part in the rally',
        subject='man',
        relations=(('scooter', 'on a'), ('part', 'taking'), ('rally', 'in the')),
        chosen='scooter',
        negated='a man , not on a scooter , taking part in the rally',
        exclusion='a man , taking part in the rally',
    ),
    RuleCase(
        caption='cruise ship and boats by the dock',
        subject='cruise ship',
        relations=(('boats', 'and'), ('dock', 'by the')),
        chosen='boats',
        negated='cruise ship without boats by the dock',
        exclusion='cruise ship by the dock',
    ),
    RuleCase(
        caption='illustration of a boy walking across the bakery',
        subject='boy',
        relations=(('bakery', 'across the'),),
        chosen='bakery',
        negated='illustration of a boy not walking across the bakery',
        exclusion='illustration of a boy walking',
    ),
    RuleCase(
        caption='a sheltered walkway between the building and tower',
        subject='sheltered walkway',
        relations=(('building and tower', 'between the'),),
        chosen='building and tower',
        # "between" names both: the listed nouns are one object, so the negation covers exactly it
        negated='a sheltered walkway , not between the building and tower',
        exclusion='a sheltered walkway',
    ),
    RuleCase(
        caption='religious leadership title holds a private audience with pilgrims',
        subject='religious leadership title',
        relations=(('private audience', 'holds'), ('pilgrims', 'with')),
        chosen='pilgrims',
        negated='religious leadership title holds a private audience with no pilgrims',
        exclusion='religious leadership title holds a private audience',
    ),
    RuleCase(
        caption='religious leadership title holds a private audience with pilgrims',
        subject='religious leadership title',
        relations=(('private audience', 'holds'), ('pilgrims', 'with')),
        chosen='private audience',
        negated='religious leadership title does not hold a private audience with pilgrims',
        exclusion='religious leadership title',
    ),
    RuleCase(
        caption='picture of a dog and puppy playing with a stick',
        subject='dog',
        relations=(('puppy', 'and'), ('stick', 'with a')),
        chosen='stick',
        negated='picture of a dog and puppy playing without a stick',
        exclusion='picture of a dog and puppy playing',
    ),
    RuleCase(
        caption='a silhouetted palm tree with boat tied to it rests on a beach that a man walks across during golden hour',
        subject='silhouetted palm tree',
        relations=(('boat', 'with'), ('beach', 'on a'), ('golden hour', 'during')),
        chosen='boat',
        negated='a silhouetted palm tree with no boat tied to it rests on a beach that a man walks across during golden hour',
        exclusion='a silhouetted palm tree rests on a beach that a man walks across during golden hour',
    ),
    RuleCase(
        caption='winter time : a mother and son have the time of their life playing in the snow',
        subject='mother',
        relations=(('son', 'and'), ('time', 'have'), ('snow', 'in the')),
        chosen='snow',
        negated='winter time : a mother and son have the time of their life not playing in the snow',
        exclusion='winter time : a mother and son have the time of their life playing',
    ),
    RuleCase(
        caption='person in a leather jacket riding a motorcycle on the road',
        subject='person',
        relations=(('leather jacket', 'in a'), ('motorcycle', 'riding'), ('road', 'on the')),
        chosen='motorcycle',
        negated='person in a leather jacket not riding a motorcycle on the road',
        exclusion='person in a leather jacket',
    ),
    RuleCase(
        caption='man sitting with his friends and playing a guitar',
        subject='man',
        relations=(('his friends', 'with'), ('guitar', 'playing')),
        chosen='his friends',
        negated='man sitting without his friends and playing a guitar',
        exclusion='man sitting and playing a guitar',
    ),
    RuleCase(
        caption='image may contain : person , on stage , playing a musical instrument , guitar , night and indoor',
        subject='image',
        relations=(('stage', 'on'),),
        chosen='stage',
        # "person" after the colon is a list item, not an object of "contain"; "musical instrument" is
        # listed with "guitar": "not playing" would negate the whole list
        negated='image may contain : person , not on stage , playing a musical instrument , guitar , night and indoor',
        exclusion='image may contain : person , playing a musical instrument , guitar , night and indoor',
    ),
    RuleCase(
        caption='family portrait of man and his wife posing with their son during photo shoot at home .',
        subject='man',
        relations=(('his wife', 'and'), ('their son', 'with'), ('photo shoot', 'during'), ('home', 'at')),
        chosen='their son',
        negated='family portrait of man and his wife posing without their son during photo shoot at home .',
        exclusion='family portrait of man and his wife posing during photo shoot at home .',
    ),
    RuleCase(
        caption='picture of presidents with sign in the foreground .',
        subject='presidents',
        relations=(('sign', 'with'), ('foreground', 'in the')),
        chosen='sign',
        negated='picture of presidents with no sign in the foreground .',
        exclusion='picture of presidents in the foreground .',
    ),
    RuleCase(
        caption='colorful pattern with a dream catcher in american style',
        subject='colorful pattern',
        relations=(('dream catcher', 'with a'), ('american style', 'in')),
        chosen='american style',
        negated='colorful pattern with a dream catcher , not in american style',
        exclusion='colorful pattern with a dream catcher',
    ),
    RuleCase(
        caption='dog with a muzzle to the veterinarian',
        subject='dog',
        relations=(('muzzle', 'with a'), ('veterinarian', 'to the')),
        chosen='muzzle',
        negated='dog without a muzzle to the veterinarian',
        exclusion='dog to the veterinarian',
    ),
    RuleCase(
        caption='apartments with a spacious fitness center',
        subject='apartments',
        relations=(('spacious fitness center', 'with a'),),
        chosen='spacious fitness center',
        negated='apartments without a spacious fitness center',
        exclusion='apartments',
    ),
    RuleCase(
        caption='close - up of a cat on tree branch',
        subject='cat',
        relations=(('tree branch', 'on'),),
        chosen='tree branch',
        negated='close - up of a cat , not on tree branch',
        exclusion='close - up of a cat',
    ),
    RuleCase(
        caption='vector illustration of a banner for holiday with colorful kites .',
        subject='banner',
        relations=(('holiday', 'for'), ('colorful kites', 'with')),
        chosen='colorful kites',
        negated='vector illustration of a banner for holiday with no colorful kites .',
        exclusion='vector illustration of a banner for holiday .',
    ),
    RuleCase(
        caption='view of the lodge from inside the reserve',
        subject='lodge',
        relations=(('reserve', 'from inside the'),),
        chosen='reserve',
        negated='view of the lodge , not from inside the reserve',
        exclusion='view of the lodge',
    ),
    RuleCase(
        caption='illustration of an old man .',
        subject='old man',
        relations=(('old man', 'of an'),),
        chosen='old man',
        negated='illustration , not of an old man .',
        exclusion='illustration .',
    ),
    RuleCase(
        caption='image of a man helping his grandson with homework',
        subject='man',
        relations=(('his grandson', 'helping'),),
        chosen='his grandson',
        # "helping ... with homework": the "with" belongs to the verb, whose object is the grandson, so
        # "homework" cannot be negated alone and is not offered
        negated='image of a man not helping his grandson with homework',
        exclusion='image of a man',
    ),
    RuleCase(
        caption='white rice , red lentils and green peas mache on a wooden tray .',
        subject='white rice',
        relations=(('wooden tray', 'on a'),),
        chosen='wooden tray',
        negated='white rice , red lentils and green peas mache , not on a wooden tray .',
        exclusion='white rice , red lentils and green peas mache .',
    ),
    RuleCase(
        caption='person reported that person lost a gold chain in the process , but no harm was done and police were not called',
        subject='person',
        relations=(('process', 'in the'),),
        chosen='process',
        # "lost" has its own object: "did not lose a gold chain in the process" would negate the chain,
        # so the phrase is negated; "gold chain" is not offered, as without it the clause would keep
        # only its subject ("person reported that person , but ...")
        negated='person reported that person lost a gold chain , not in the process , but no harm was done and police were not called',
        exclusion='person reported that person lost a gold chain , but no harm was done and police were not called',
    ),
    RuleCase(
        caption='cowboy boots are a major hit for spring and summer !',
        subject='cowboy boots',
        relations=(('major hit', 'are a'), ('spring and summer', 'for')),
        chosen='major hit',
        negated='cowboy boots are not a major hit for spring and summer !',
        exclusion='cowboy boots !',
    ),
    RuleCase(
        caption='there is a children playground in front of the house',
        subject='children playground',
        relations=(('house', 'in front of the'),),
        chosen='house',
        negated='there is a children playground , not in front of the house',
        exclusion='there is a children playground',
    ),
    RuleCase(
        caption='this beautiful carousel is a replica of a traditional carousel that was at festival .',
        subject='beautiful carousel',
        relations=(('replica', 'is a'), ('festival', 'at')),
        chosen='replica',
        negated='this beautiful carousel is not a replica of a traditional carousel that was at festival .',
        exclusion='this beautiful carousel .',
    ),
    RuleCase(
        caption='the plane flies across the sky',
        subject='plane',
        relations=(('sky', 'across the'),),
        chosen='sky',
        negated='the plane does not fly across the sky',
        exclusion='the plane flies',
    ),
    RuleCase(
        caption='boy grooming his horse in the stables .',
        subject='boy',
        relations=(('his horse', 'grooming'), ('stables', 'in the')),
        chosen='his horse',
        negated='boy not grooming his horse in the stables .',
        exclusion='boy .',
    ),
    RuleCase(
        caption='a tiger leaping into a well',
        subject='tiger',
        relations=(('well', 'into a'),),
        chosen='well',
        negated='a tiger not leaping into a well',
        exclusion='a tiger leaping',
    ),
    RuleCase(
        caption='orchids and light pink roses in a glass vase',
        subject='orchids',
        relations=(('light pink roses', 'and'), ('glass vase', 'in a')),
        chosen='light pink roses',
        negated='orchids without light pink roses in a glass vase',
        exclusion='orchids in a glass vase',
    ),
    RuleCase(
        caption='baby lying in the bed with spoon',
        subject='baby',
        relations=(('bed', 'in the'), ('spoon', 'with')),
        chosen='spoon',
        negated='baby lying in the bed with no spoon',
        exclusion='baby lying in the bed',
    ),
    RuleCase(
        caption='the color guard makes its way down main street during the parade .',
        subject='color guard',
        relations=(('parade', 'during the'),),
        chosen='parade',
        # "makes its way down main street" stays true; only the link to the parade is negated
        negated='the color guard makes its way down main street , not during the parade .',
        exclusion='the color guard makes its way down main street .',
    ),
    RuleCase(
        caption='gold frames on the wall with green wallpaper',
        subject='gold frames',
        relations=(('wall', 'on the'), ('green wallpaper', 'with')),
        chosen='wall',
        negated='gold frames , not on the wall , with green wallpaper',
        exclusion='gold frames with green wallpaper',
    ),
    RuleCase(
        caption='people serving food to the homeless',
        subject='people',
        relations=(('food', 'serving'), ('homeless', 'to the')),
        chosen='food',
        negated='people not serving food to the homeless',
        exclusion='people',
    ),
    RuleCase(
        caption='cars are driving at night .',
        subject='cars',
        relations=(('night', 'at'),),
        chosen='night',
        negated='cars are not driving at night .',
        exclusion='cars are driving .',
    ),
    RuleCase(
        caption='this sticker looks great on bathroom and bedroom walls .',
        subject='sticker',
        relations=(('bathroom and bedroom walls', 'on'),),
        chosen='bathroom and bedroom walls',
        # "does not look great" would negate "great"; the walls are negated as a phrase
        negated='this sticker looks great , not on bathroom and bedroom walls .',
        exclusion='this sticker looks great .',
    ),
    RuleCase(
        caption='yellow pills spilling out of a bottle',
        subject='yellow pills',
        relations=(('bottle', 'out of a'),),
        chosen='bottle',
        negated='yellow pills not spilling out of a bottle',
        exclusion='yellow pills spilling',
    ),
    RuleCase(
        caption='the capital is an incredible city !',
        subject='capital',
        relations=(('incredible city', 'is an'),),
        chosen='incredible city',
        negated='the capital is not an incredible city !',
        exclusion='the capital !',
    ),
    RuleCase(
        caption='traditional pottery being sold in a souk',
        subject='traditional pottery',
        relations=(('souk', 'in a'),),
        chosen='souk',
        negated='traditional pottery not being sold in a souk',
        exclusion='traditional pottery being sold',
    ),
    RuleCase(
        caption='soldiers stand next to a tank at an air base .',
        subject='soldiers',
        relations=(('tank', 'next to a'), ('air base', 'at an')),
        chosen='air base',
        # "do not stand next to a tank at an air base" would negate the tank too
        negated='soldiers stand next to a tank , not at an air base .',
        exclusion='soldiers stand next to a tank .',
    ),
    RuleCase(
        caption='politician got married to actor after divorcing businessperson .',
        subject='politician',
        relations=(('actor', 'to'), ('businessperson', 'divorcing')),
        chosen='businessperson',
        # a gerund after a preposition is negated with it, not as "after not divorcing"
        negated='politician got married to actor , not after divorcing businessperson .',
        exclusion='politician got married to actor .',
    ),
    RuleCase(
        caption='i feel morally compelled to remain on the side of other uprooted men and women everywhere .',
        subject='i',
        relations=(('other uprooted men and women', 'on the side of'),),
        chosen='other uprooted men and women',
        negated='i do not feel morally compelled to remain on the side of other uprooted men and women everywhere .',
        exclusion='i feel morally compelled to remain everywhere .',
    ),
    RuleCase(
        caption='the view from the top of skyscraper shows the city .',
        subject='view',
        relations=(('skyscraper', 'from the top of'), ('city', 'shows')),
        chosen='skyscraper',
        negated='the view , not from the top of skyscraper , shows the city .',
        exclusion='the view shows the city .',
    ),
    RuleCase(
        caption='woman in sari crossing the street',
        subject='woman',
        relations=(('street', 'crossing'),),
        chosen='street',
        negated='woman in sari not crossing the street',
        exclusion='woman in sari',
    ),
    RuleCase(
        caption='a bowl of creamy soup with salmon .',
        subject='bowl',
        relations=(('creamy soup', 'of'), ('salmon', 'with')),
        chosen='salmon',
        negated='a bowl of creamy soup with no salmon .',
        exclusion='a bowl of creamy soup .',
    ),
    RuleCase(
        caption='a hot air balloon gently glides through the air on a summer evening',
        subject='hot air balloon',
        relations=(('air', 'through the'), ('summer evening', 'on a')),
        chosen='air',
        # the verb has a second phrase ("on a summer evening"): the chosen phrase is negated alone
        negated='a hot air balloon gently glides , not through the air , on a summer evening',
        exclusion='a hot air balloon gently glides on a summer evening',
    ),
    RuleCase(
        caption='my little brother will probably have this cake for his birthday',
        subject='my little brother',
        relations=(('cake', 'have'), ('his birthday', 'for')),
        chosen='cake',
        negated='my little brother will probably not have this cake for his birthday',
        exclusion='my little brother',
    ),
    RuleCase(
        caption='jazz fusion artist also spoke at the thursday event .',
        subject='jazz fusion artist',
        relations=(('thursday event', 'at the'),),
        chosen='thursday event',
        negated='jazz fusion artist also did not speak at the thursday event .',
        exclusion='jazz fusion artist also spoke .',
    ),
    RuleCase(
        caption='close up of a stuffed sheep',
        subject='stuffed sheep',
        relations=(('stuffed sheep', 'of a'),),
        chosen='stuffed sheep',
        negated='close up , not of a stuffed sheep',
        exclusion='close up',
    ),
    RuleCase(
        caption='a group of architectural students and a professor',
        subject='architectural students',
        relations=(('professor', 'and'),),
        chosen='professor',
        negated='a group of architectural students without a professor',
        exclusion='a group of architectural students',
    ),
    RuleCase(
        caption='organisation is dealing with a huge rate of abandoned animals',
        subject='organisation',
        relations=(('huge rate', 'with a'),),
        chosen='huge rate',
        # "dealing with" is negated as a verb, not as "without"; "organisation is dealing" would stop short,
        # so the exclusion drops the verb with its phrase
        negated='organisation is not dealing with a huge rate of abandoned animals',
        exclusion='organisation',
    ),
    RuleCase(
        caption='this house looks like a spaceship .',
        subject='house',
        relations=(('spaceship', 'like a'),),
        chosen='spaceship',
        negated='this house does not look like a spaceship .',
        exclusion='this house .',
    ),
    RuleCase(
        caption='the furniture is in oak .',
        subject='furniture',
        relations=(('oak', 'in'),),
        chosen='oak',
        negated='the furniture is not in oak .',
        exclusion='the furniture .',
    ),
    RuleCase(
        caption='a bottle of beer ready to be reviewed .',
        subject='bottle',
        relations=(('beer', 'of'),),
        chosen='beer',
        # a container's "of" gives "without"; the parse hangs "ready to be reviewed" on the beer, so it goes with it
        negated='a bottle without beer ready to be reviewed .',
        exclusion='a bottle .',
    ),
    RuleCase(
        caption='mounted police during a demonstration',
        subject='police',
        relations=(('demonstration', 'during a'),),
        chosen='demonstration',
        # a caption-initial participle before a bare noun describes it; it is not the verb
        negated='mounted police , not during a demonstration',
        exclusion='mounted police',
    ),
    RuleCase(
        caption='the first bar officially opened on sunday after a soft opening .',
        subject='first bar',
        relations=(('sunday', 'on'), ('soft opening', 'after a')),
        chosen='sunday',
        # the verb has a second phrase ("after a soft opening"): the chosen phrase is negated alone
        negated='the first bar officially opened , not on sunday , after a soft opening .',
        exclusion='the first bar officially opened after a soft opening .',
    ),
    RuleCase(
        caption='the skirted table -- in fabric .',
        subject='skirted table',
        relations=(('fabric', 'in'),),
        chosen='fabric',
        # no comma right after a dash; the exclusion drops the dangling dash
        negated='the skirted table -- not in fabric .',
        exclusion='the skirted table .',
    ),
    RuleCase(
        caption='repeating map - for easy making seamless pattern use it for filling any contours',
        subject='repeating map - for easy making seamless pattern',
        relations=(('contours', 'filling'),),
        chosen='contours',
        # a gerund after a preposition: "not for filling", never "for not filling"
        negated='repeating map - for easy making seamless pattern use it , not for filling any contours',
        exclusion='repeating map - for easy making seamless pattern use it',
    ),
    RuleCase(
        caption='actor and theatre actor attend opening night performance .',
        subject='actor and theatre actor',
        relations=(('opening night performance', 'attend'),),
        chosen='opening night performance',
        # a listed subject is plural: "do" stays
        negated='actor and theatre actor do not attend opening night performance .',
        exclusion='actor and theatre actor .',
    ),
)

#: Real CC3M captions with nothing the rules can negate well, and the reason they give.
CC3M_REJECTED = (
    # a singular noun before a plural verb is the tagger splitting a noun compound ("speech bubble"),
    # so do-support is refused; in this caption the cost is a fine row
    ("little girl speak on the phone", "verb_not_negatable"),
    # a noun compound, not a clause: "gender does not reveal" was written before
    ("gender reveal shower invite idea .", "no_relation"),
    # "how these fish ...": a wh- clause, where "do not take better care" negates the claim
    ("it 's impressive how these fish take better care of their offspring than some people ...", "negation_scope"),
    ("love this small house plan .", "no_relation"),
    ("a wearable work of art .", "no_relation"),
    ("the long wait is finally over !", "no_relation"),
    ("nainital a famous tourist attraction", "no_relation"),
    ("pop artist & pop rock artist .", "no_relation"),
    ("film of a garbage truck", "no_relation"),
)


@dataclass(frozen=True)
class ScopeCase:
    """A kind of failure a careful reader found, stated as a caption and the outcome it must get.

    ``chosen`` names the pair to write, with the expected ``negated`` and ``exclusion``
    captions; without ``chosen`` the caption must be rejected with ``reason``. ``not_offered``
    lists objects the rules must not offer as pairs at all. Captions marked "reviewer" are the
    ones the reader reported (CC3M), "reviewed" ones failed in our own reading of the dev
    sample (benchmarks/judgments/); the others are our own captions of the same kinds.
    """

    kind: str
    caption: str
    chosen: str | None = None
    negated: str = ""
    exclusion: str = ""
    reason: str = ""
    not_offered: tuple[str, ...] = ()


#: Every failure kind of the negated and the exclusion captions, with its expected outcome.
SCOPE_CASES = (
    # --- do-support only before a verb: a misread adjective, noun or adverb is not negated as a verb
    ScopeCase("do-support before a non-verb", "spooky food at the party",  # reviewer: "do not spooky food"
              chosen="party", negated="spooky food , not at the party", exclusion="spooky food"),
    ScopeCase("do-support before a non-verb", "basketball small forward attends festival",  # reviewer
              chosen="festival", negated="basketball small forward does not attend festival",
              exclusion="basketball small forward"),
    ScopeCase("do-support before a non-verb", "football tight end catches pass in the end zone",
              reason="verb_not_negatable"),
    ScopeCase("do-support before a non-verb", "leaves vector illustration on a seamless pattern background",
              chosen="seamless pattern background",
              negated="leaves vector illustration , not on a seamless pattern background",
              exclusion="leaves vector illustration"),
    ScopeCase("do-support before a non-verb", "abstract speech bubble in the shape of clouds",
              chosen="clouds", negated="abstract speech bubble , not in the shape of clouds",
              exclusion="abstract speech bubble"),
    ScopeCase("do-support before a non-verb", "celebrity performs live in concert .",
              chosen="concert", negated="celebrity performs live , not in concert .", exclusion="celebrity performs ."),
    ScopeCase("do-support before a non-verb", "clad your home in person",  # reviewer: "not clad your home in person"
              reason="no_relation"),
    # --- never move the negation onto a how-to or wh- clause
    ScopeCase("wh- or how-to clause", "how to add privacy and texture to any window or industry for less than $20 .",
              reason="negation_scope"),  # reviewer: "how not to add privacy ..."
    ScopeCase("wh- or how-to clause", "how to draw in internet publishing and broadcasting and web search portals business",
              reason="negation_scope"),  # reviewer: exclusion "how to draw portals business"
    ScopeCase("wh- or how-to clause", "how to make a wreath with pine cones", reason="negation_scope"),
    ScopeCase("wh- or how-to clause", "what to wear to a wedding in the fall", reason="negation_scope"),
    # --- never negate a verb whose object is another one: the phrase is negated instead
    ScopeCase("verb with another object", "person feeding apples to an elephant in captivity",  # reviewer
              chosen="elephant", negated="person feeding apples , not to an elephant , in captivity",
              exclusion="person feeding apples in captivity"),
    ScopeCase("verb with another object", "a boy throws a ball to his dog in the park",
              chosen="his dog", negated="a boy throws a ball , not to his dog , in the park",
              exclusion="a boy throws a ball in the park"),
    ScopeCase("verb with another object", "a woman hangs laundry on the line in the yard",
              chosen="line", negated="a woman hangs laundry , not on the line , in the yard",
              exclusion="a woman hangs laundry in the yard"),
    ScopeCase("verb with another object", "a dog waits patiently for its owner",
              chosen="its owner", negated="a dog waits patiently , not for its owner", exclusion="a dog waits patiently"),
    ScopeCase("verb with another object", "when all else fails , you can always jump your car onto a boat",
              chosen="boat", negated="when all else fails , you can always jump your car , not onto a boat",
              exclusion="when all else fails , you can always jump your car",
              not_offered=("your car",)),  # reviewer: exclusion "when all else fails , you"
    ScopeCase("verb with another object", "no doubt someone spent several hours creating this intricate brooch .",
              reason="negation_scope"),  # reviewed: "did not spend several hours" negated the hours
    ScopeCase("verb with another object", "person put the vase on the table in the kitchen",
              chosen="kitchen", negated="person put the vase on the table , not in the kitchen",
              exclusion="person put the vase on the table", not_offered=("table",)),
    ScopeCase("verb with another object",
              "chic : person opted for a very different style in her plunging neckline black mini dress during event",
              chosen="event",
              negated="chic : person opted for a very different style in her plunging neckline black mini dress , not during event",
              exclusion="chic : person opted for a very different style in her plunging neckline black mini dress",
              not_offered=("very different style",)),  # reviewed: "person opted , not for a very different style"
    ScopeCase("verb with another object", "cups of tea : the principle behind building your network and getting results",
              chosen="tea", negated="cups without tea : the principle behind building your network and getting results",
              exclusion="cups : the principle behind building your network and getting results",
              not_offered=("your network",)),  # reviewed: "not behind building your network and getting results"
    ScopeCase("double negation", "i 'm not one for facial piercings , but i must say that fictional character can be really beautiful !",
              reason="no_relation"),  # reviewed: "i 'm not one , not for facial piercings"
    # --- a phrase before its verb, or an infinitive: the negation cannot reach the pair alone
    ScopeCase("phrase before the verb", "after an incredible long weekend we headed to the airport .",
              reason="negation_scope"),
    ScopeCase("phrase before the verb",
              "on my way to class i saw this huge python slithering along a main road , right outside the train station .",
              chosen="main road",
              negated="on my way to class i saw this huge python not slithering along a main road , right outside the train station .",
              exclusion="on my way to class i saw this huge python slithering , right outside the train station .",
              not_offered=("my way", "class")),
    ScopeCase("infinitive", "members getting ready to sail on the sea", reason="negation_scope"),
    ScopeCase("infinitive", "we saw the kids play in the garden", reason="negation_scope"),
    # held-out: "... to watch american football team not take a clear victory"
    ScopeCase("infinitive", "the vivid use of color to give life to every type of flower and plants .",
              reason="negation_scope"),
    ScopeCase("infinitive", "you need thissized custom pool to get through the summer here !", reason="negation_scope"),
    # --- adverbs placed as English places them, never negated instead of the pair
    ScopeCase("adverb", "person recently lectured at annual event",  # reviewer: "person recently not lectured"
              chosen="annual event", negated="person recently did not lecture at annual event", exclusion="person"),
    ScopeCase("adverb", "the museum recently opened in the city centre",
              chosen="city centre", negated="the museum recently did not open in the city centre",
              exclusion="the museum recently opened"),
    ScopeCase("adverb", "a dress totally made from balloons", reason="negation_scope"),
    ScopeCase("adverb", "your fresh - cut blooms already pack a punch , but there 's no such thing as too many flowers .",
              reason="negation_scope"),  # held-out: "already do not pack a punch"
    ScopeCase("adverb", "a car completely covered in snow", reason="negation_scope"),
    ScopeCase("adverb", "ready - the champion you 'll always find the chip there , my boy !",
              reason="exclusion_not_caption"),  # the exclusion fails first; "'ll not always find" would too
    ScopeCase("adverb", "the team will always win the cup at home", chosen="home",
              negated="the team will always win the cup , not at home", exclusion="the team will always win the cup",
              not_offered=("cup",)),  # "will not always win" negates "always"
    ScopeCase("adverb", "there is always some kind of fish at a party .",
              chosen="party", negated="there is always some kind of fish , not at a party .",
              exclusion="there is always some kind of fish ."),
    ScopeCase("adverb", "fencing in all weather , including snow", chosen="snow",
              negated="fencing in all weather , not including snow", exclusion="fencing in all weather",
              not_offered=("weather",)),
    # --- objects are noun phrases, and a listed object is negated whole or not at all
    ScopeCase("object not a noun phrase", "organisation founder on the left greets a fan at the race",
              chosen="race", negated="organisation founder on the left greets a fan , not at the race",
              exclusion="organisation founder on the left greets a fan", not_offered=("left greets",)),
    ScopeCase("object not a noun phrase", "man on the stump playing guitar in forest",
              chosen="forest", negated="man on the stump playing guitar , not in forest",
              exclusion="man on the stump playing guitar", not_offered=("stump playing guitar",)),
    ScopeCase("object not a noun phrase", "woman with pregnant step by step on the stairs",  # the kind of "pregnant step"
              chosen="stairs", negated="woman with pregnant step by step , not on the stairs",
              exclusion="woman with pregnant step by step", not_offered=("pregnant step", "step")),
    ScopeCase("object not a noun phrase", "images vs. boys basketball game .", reason="object_not_noun_phrase"),
    ScopeCase("object not a noun phrase", "sunset behind suspension bridge greets visitors",
              reason="object_not_noun_phrase"),  # held-out: object "suspension bridge greets visitors"
    ScopeCase("object not a noun phrase", "country have a way with geraniums !", reason="no_relation"),
    # held-out: "have a way with" is an idiom: "with no geraniums" broke it
    ScopeCase("do-support before a non-verb", "person , read an original poem .", chosen="original poem",
              negated="person , does not read an original poem .", exclusion="person ."),
    # a comma does not end a title: the subject before it still takes "does"
    ScopeCase("listed object", "person with a bird and butterfly",
              chosen="bird and butterfly", negated="person without a bird and butterfly", exclusion="person"),
    ScopeCase("listed object", "traveling with a passport or an id", reason="object_not_noun_phrase"),
    ScopeCase("listed object", "seamless vector pattern with cute lambs , apples on purple backdrop .",
              chosen="purple backdrop", negated="seamless vector pattern with cute lambs , apples , not on purple backdrop .",
              exclusion="seamless vector pattern with cute lambs , apples .", not_offered=("cute lambs",)),
    # --- every exclusion caption is a caption
    ScopeCase("exclusion not a caption", "a buddha statue seen on the grounds",  # reviewer: "a buddha statue seen"
              chosen="grounds", negated="a buddha statue not seen on the grounds", exclusion="a buddha statue"),
    ScopeCase("exclusion not a caption", "a tractor parked in a farmyard",
              chosen="farmyard", negated="a tractor not parked in a farmyard", exclusion="a tractor"),
    ScopeCase("exclusion not a caption", "this property sits on a beautiful white sand beach .",
              chosen="beautiful white sand beach", negated="this property does not sit on a beautiful white sand beach .",
              exclusion="this property ."),
    ScopeCase("exclusion not a caption", "tower is seen in the snow .",
              chosen="snow", negated="tower is not seen in the snow .", exclusion="tower ."),
    ScopeCase("exclusion not a caption", "the baseball hat - get on the trend",  # reviewer
              reason="exclusion_not_caption"),
    ScopeCase("exclusion not a caption", "i hear a mouse close by .", reason="exclusion_not_caption"),  # kind of "i ."
    ScopeCase("exclusion not a caption", "you can see the condition of the road", reason="exclusion_not_caption"),
    ScopeCase("exclusion not a caption", "just imagine if you were inside the car", reason="exclusion_not_caption"),
    ScopeCase("exclusion not a caption",
              "they created a wall of shelves for trinkets to marvel at as you head up the stairs .",  # reviewer: "they ."
              chosen="trinkets",
              negated="they created a wall of shelves , not for trinkets to marvel at as you head up the stairs .",
              exclusion="they created a wall of shelves to marvel at as you head up the stairs .",
              not_offered=("wall",)),
    ScopeCase("exclusion not a caption", "style notes : if red is your favourite hue then this is time is your time .",
              reason="exclusion_not_caption"),  # reviewed: exclusion "style notes : if red then ..."
    ScopeCase("exclusion not a caption", "a young doctor carries out the research and looking through a microscope",
              chosen="microscope",
              negated="a young doctor carries out the research and not looking through a microscope",
              exclusion="a young doctor carries out the research"),  # reviewed: "... the research and looking"
    ScopeCase("exclusion not a caption", "are tasked to deliver the letter to the right door when they hear the number .",
              chosen="right door",
              negated="are tasked to deliver the letter , not to the right door , when they hear the number .",
              exclusion="are tasked to deliver the letter when they hear the number .",
              not_offered=("letter",)),  # reviewed: exclusion "are tasked ."
    ScopeCase("exclusion not a caption", "did you know the skin releases gallons of water in hot weather ? refresh it !",
              chosen="hot weather",
              negated="did you know the skin releases gallons of water , not in hot weather ? refresh it !",
              exclusion="did you know the skin releases gallons of water ? refresh it !",
              not_offered=("gallons",)),  # held-out: exclusion "did you know the skin ? refresh it !"
    ScopeCase("exclusion not a caption", "bacon - wrapped hot dogs may be the quintessential street food but they originated .",
              reason="exclusion_not_caption"),  # held-out: exclusion "bacon - wrapped hot dogs but they originated ."
    ScopeCase("exclusion not a caption", "person of computer was involved in an accident while riding her horse last week .",
              chosen="her horse",
              negated="person of computer was involved in an accident while not riding her horse last week .",
              exclusion="person of computer was involved in an accident .",
              not_offered=("accident",)),  # held-out: exclusion "person of computer was involved while riding ..."
    ScopeCase("exclusion not a caption", "make a recipe that will please the whole family with this recipe !",
              chosen="recipe",  # reviewer: "recipe !" (the other "recipe" was dropped)
              negated="make a recipe that will please the whole family without this recipe !",
              exclusion="make a recipe that will please the whole family !"),
)
