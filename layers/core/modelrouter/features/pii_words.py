"""Words the KYC detectors read: labels, months, street types, and words that are never part of a name.

Labels are written in lower case, words separated by one space; :mod:`~modelrouter.features.pii_labels`
reads a space as "one space, underscore, hyphen or dot, or none" (``first name``, ``first_name``,
``firstName``), and a digit as any digit (the scan zeroes them).
"""

from __future__ import annotations

__all__ = [
    "ADDRESS_LABELS",
    "ADDRESS_NOT_POSTAL",
    "BIRTH_LABELS",
    "COMPANY_WORDS",
    "DE_PLACE_WORDS",
    "DE_STREET_SUFFIXES",
    "DE_STREET_WORDS",
    "ES_TYPES",
    "FR_TYPES",
    "FR_TYPES_LOWER_ONLY",
    "HONORIFICS",
    "MONTHS",
    "NAME_LABELS",
    "NAME_NOT_PERSONAL",
    "NAME_PARTICLES",
    "NOT_NAMES",
    "POSTCODE_LABELS",
    "ROLE_LABELS",
    "STREET_TYPES",
    "US_STATES",
]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _phrases(text: str) -> tuple[str, ...]:
    return tuple(phrase.strip() for phrase in text.split(",") if phrase.strip())


NAME_LABELS = _phrases(
    """
    name, names, name(s), full name, full legal name, first name, first names, last name, given name,
    given names, given name(s), family name, middle name, maiden name, legal name, birth name, surname,
    surnames, forename, forenames, christian name, name on card, name on the card, name and surname,
    name & surname, surname and name, customer name, customer's name, client name, client's name,
    applicant name, applicant's name, applicant full name, applicant's full name, account holder name,
    account holder's name, cardholder name, card holder name, holder name, holder's name,
    beneficiary name, patient name, passenger name, contact name, policyholder name, policy holder name,
    guest name, member name, employee name, person name, your name, my name,
    nom, nom de famille, nom d'usage, nom de naissance, nom du client, nom de la cliente, nom et prénom,
    nom complet, prénom, prénoms, vorname, vornamen, nachname, familienname, geburtsname, zuname,
    kundenname, name des kunden, name der kundin, name des antragstellers, name des kontoinhabers,
    nombre, nombres, nombre completo, nombre y apellidos, apellido, apellidos, primer apellido,
    segundo apellido, nome, nome completo, cognome, sobrenome
    """
)
"""Labels of a person's name: one name word after them is enough."""

ROLE_LABELS = _phrases(
    """
    customer, client, applicant, co-applicant, main applicant, account holder, holder, cardholder,
    card holder, policyholder, policy holder, beneficiary, patient, passenger, guarantor, spouse,
    contact, contact person, emergency contact, next of kin, borrower, co-borrower, insured, claimant,
    kunde, kundin, antragsteller, antragstellerin, kontoinhaber, kontoinhaberin, inhaber, inhaberin,
    titulaire, titulaire du compte, titular, cliente, solicitante, beneficiario, bénéficiaire, assuré,
    assurée, souscripteur
    """
)
"""Labels of a person by role: a name after them needs two words (``Customer: Jane Doe``)."""

ADDRESS_LABELS = _phrases(
    """
    address, home address, postal address, mailing address, residential address, billing address,
    shipping address, delivery address, registered address, correspondence address, permanent address,
    current address, previous address, former address, new address, street address, address line 0,
    address line, address on id, address on file, ship to, deliver to, bill to, registered office,
    street, street and number, adresse, adresse postale, adresse de livraison, adresse de facturation,
    domicile, anschrift, wohnort, wohnanschrift, wohnhaft, meldeadresse, lieferadresse,
    rechnungsadresse, postanschrift, straße, strasse, straße und hausnummer, strasse und hausnummer,
    dirección, direccion, domicilio, indirizzo, endereço, morada
    """
)
"""Labels of a postal address: what follows is one if it has a number and a name."""

POSTCODE_LABELS = _phrases(
    """
    postcode, post code, postal code, zip, zip code, zipcode, plz, plz/ort, postleitzahl, code postal,
    código postal, codigo postal, cp, c.p.
    """
)
"""Labels of a postcode: a postcode alone after them is an address."""

BIRTH_LABELS = _phrases(
    """
    dob, d.o.b, d.o.b., date of birth, birth date, birthdate, birthday, date of birth and place, born,
    born on, geburtsdatum, geburtstag, geb., geb. am, geboren, geboren am, né le, née le, né(e) le,
    date de naissance, naissance, fecha de nacimiento, f. nacimiento, f. de nacimiento, fecha nac.,
    nacimiento, nacido el, nacida el, nacido, nacida, data di nascita, nato il, nata il,
    data de nascimento, nascido em, nascida em, geboortedatum
    """
)
"""Labels of a date of birth, read just before a date."""

NAME_NOT_PERSONAL = _words(
    """
    account album app application argument asset attribute bank book bot branch brand bucket
    build business campaign category certificate channel city class cluster code colour color column
    company computer config container country course database dataset db department dept device
    directory display doc document domain entity env environment event feature field file folder font
    function game group host hostname hotel image index instance item job key label link machine
    merchant method model module network node object org organisation organization package page param
    parameter pet place plan policy printer process product program project property queue release
    report repo repository resource role route rule schema school screen server service setting sheet
    ship shop site song stack stage store street supplier table tag task team template tenant test
    topic town university user's variable vendor venue version vessel website wifi workspace zone
    """
)
"""Words that make a following "name" label something other than a person's (``File name:``)."""

ADDRESS_NOT_POSTAL = _words(
    """
    base bind bitcoin bluetooth broadcast btc contract crypto destination device dns e-mail email end
    eth ethereum ethernet gateway hardware hex host instruction ip ipv4 ipv6 jump listen load local
    loopback mac memory network node offset peer pointer program proxy register remote return sender
    server socket source start store target url virtual wallet web
    """
)
"""Words that make a following "address" label something other than a postal address."""

NOT_NAMES = _words(
    """
    a about after again agent all also an and any are as at be because been before below blank both
    but by can cannot care client confirmed contact could customer date dear did do does done each
    either email enterprise field for from full given good great had has have he hello her here hey
    hi his how however i if in inc is it its just last let like me more most much must my n/a na
    need no none nor not now of ok okay on one only or other our out please premium required optional
    same see she should since so some sorry still success such support sure team thank thanks that
    the their them then there these they this those to today tomorrow too unknown untitled us very
    was we well were what when where which while who why with would yes yesterday you your
    anonymous test tbd null nil undefined string str int bool true false self
    account address applicant birth born city country dob e-mail first id last middle mobile name
    number phone postcode sex gender nationality age ssn street surname tel zip
    adresse nom prénom vorname nachname nombre apellido apellidos geburtsdatum anschrift straße
    monday tuesday wednesday thursday friday saturday sunday
    service services manager support satisfaction experience portal tracking system systems team
    """
)
"""Capitalised words that are not a person's name (compared in lower case): greetings, pronouns,
field labels, placeholders, weekdays, months and role words."""

COMPANY_WORDS = _words(
    "inc inc. ltd ltd. llc plc gmbh ag sa sas sarl bv nv corp corp. corporation company co co. group "
    "holdings partners foundation bank university hospital clinic solutions technologies labs"
)
"""Words that make a capitalised run a company's name rather than a person's."""

NAME_PARTICLES = _words(
    "van von der den de del della di da du la le dos das do bin ibn al el y zu ter ten st"
)
"""Lower-case words inside a name (``Ingrid van der Berg``), never at its end."""

HONORIFICS = _words(
    "mr mrs ms mx miss mme mlle herr frau sr sra srta señor señora monsieur madame dr prof sir dame"
)
"""Titles before a name (compared in lower case, without a final dot)."""

STREET_TYPES = (
    "Street|St|Road|Rd|Avenue|Ave|Av|Boulevard|Blvd|Lane|Lanes|Ln|Drive|Dr|Court|Ct|Place|Pl|Terrace|"
    "Ter|Way|Parkway|Pkwy|Close|Crescent|Cres|Grove|Gardens|Gdns|Square|Sq|Highway|Hwy|Row|Mews|Walk|"
    "Circle|Cir|Trail|Trl|Alley|Broadway|Embankment|Wharf|Quay|Parade|Promenade|Rise|Vale|Causeway|"
    "Expressway|Expy|Freeway|Fwy|Pike|Plaza"
)
"""English street types after a street name (``Baker Street``), as a regular-expression alternation;
capitalised or in lower case."""

FR_TYPES = "rue|avenue|av|bd|boulevard|chemin|allée|allee|impasse|quai|faubourg|fbg|esplanade|promenade"
"""French street types before the name (``12 rue de la Paix``), in any case."""

FR_TYPES_LOWER_ONLY = "place|route|square|passage|cours|voie|sentier|villa"
"""French street types that are English words too: only in lower case (``5 place Bellecour``)."""

ES_TYPES = _words(
    "Calle C/ Avenida Avda Av Paseo Pº Plaza Pza Carrer Camino Ronda Rambla Travesía Carretera Ctra "
    "Glorieta Rúa Rua Via Vía Viale Piazza Corso Largo Praça Travessa Alameda"
)
"""Spanish, Catalan, Italian and Portuguese street types before the name and the number
(``Calle de Alcalá 45``), compared without a final dot."""

DE_STREET_SUFFIXES = (
    "straße",
    "strasse",
    "str.",
    "weg",
    "platz",
    "allee",
    "gasse",
    "damm",
    "ufer",
    "chaussee",
    "steig",
    "pfad",
    "graben",
)
"""Endings of German street names written as one word (``Lindenstraße 12``, ``Mozartstr. 9``); not
``-ring``, which ends too many English words (``Engineering 23``)."""

DE_STREET_WORDS = _words("Straße Strasse Str. Weg Platz Allee Gasse Damm Ufer Chaussee Ring")
"""German street words after a name (``Spandauer Str. 4``)."""

DE_PLACE_WORDS = (
    ("Am",),
    ("Im",),
    ("Zum",),
    ("Zur",),
    ("An", "der"),
    ("An", "den"),
    ("In", "der"),
    ("Auf", "der"),
    ("Auf", "dem"),
    ("Unter", "den"),
)
"""Words before a German street named after a place (``Am Lindenhof 3``): a street only before a postcode."""

MONTHS = _words(
    """
    january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec
    januar jänner februar märz april mai juni juli august september oktober november dezember mär okt dez
    janvier février fevrier mars avril mai juin juillet août aout septembre octobre novembre décembre
    decembre janv févr fevr avr juil
    enero febrero marzo abril mayo junio julio agosto septiembre setiembre octubre noviembre diciembre
    ene dic
    gennaio febbraio aprile maggio giugno luglio settembre ottobre dicembre
    janeiro fevereiro março maio junho julho setembro outubro dezembro
    """
)
"""Month names and abbreviations (EN, DE, FR, ES, IT, PT), in lower case."""

US_STATES = _words(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY "
    "NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI"
)
"""US state and territory codes, for ``City, ST 12345``."""
