"""English and French for the public pages: a catalogue and the choice of language.

The public page is read by buyers and by the miners, cooperatives and traders themselves; in
the Great Lakes ASM regions French is the common language of paperwork, so every page string
exists in both. A plain catalogue (no Flask-Babel): a few dozen strings, no plural rules beyond
what the template spells out, and nothing to compile. The language comes from ``?lang=`` (the
switch on the page), else the ``Accept-Language`` header, else English.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Request

LANGUAGES = ("en", "fr")

CATALOGUE: dict[str, dict[str, str]] = {
    "en": {
        "title": "Provenance of lot {lot}",
        "lot": "Lot",
        "mineral": "Mineral",
        "form": "Form",
        "mass": "Mass",
        "grade": "Grade",
        "status": "Status",
        "held_by": "Held by",
        "sent_to": "On its way to",
        "tags": "Tags",
        "verified": "Verified against checkpoint {size} of {origin}",
        "verified_how": "This page's server ran the buyer's verifier on the proof bundle below: "
        "every signature, inclusion proof, custody rule and mass balance holds.",
        "not_verified": "NOT VERIFIED: the proof bundle of this lot does not check out",
        "alerts": "Warnings",
        "no_alerts": "No flags, incidents, discrepancies or withdrawn attestations in this "
        "lot's provenance.",
        "origin_sites": "Origin mine sites",
        "region": "Region",
        "country": "Country",
        "coordinates": "Coordinates",
        "inspection": "Inspection status",
        "operated_by": "Operated by",
        "licence": "Licence",
        "timeline": "Custody timeline",
        "attestations": "Attestations",
        "attested_by": "by",
        "valid_until": "valid until",
        "bundle": "Check it yourself",
        "download": "Download the proof bundle",
        "how_to_verify": "Verify it offline with the operator's key:",
        "label_current": "The label matches the lot's current history.",
        "label_earlier": "The label was printed earlier in the lot's history; "
        "{count} entries were added since.",
        "label_mismatch": "The label's fingerprint {h} matches no entry of this lot's history: "
        "the label may be forged, or this page shows a different history.",
        "status.held": "held",
        "status.in_transit": "in transit",
        "status.consumed": "consumed (blended, split or processed)",
        "status.exported": "exported",
        "att.valid": "valid",
        "att.expired": "expired",
        "att.revoked": "REVOKED",
        "att.not_yet_valid": "not yet valid",
        "type.lot.register": "Registered at the mine site",
        "type.lot.dispatch": "Dispatched",
        "type.lot.receive": "Received and weighed",
        "type.lot.split": "Split",
        "type.lot.merge": "Blended",
        "type.lot.process": "Processed",
        "type.lot.export": "Exported",
        "to": "to",
        "certificate": "certificate",
        "destination": "destination",
        "alert.not_verified": "Verification failed: {reasons}",
        "alert.site_red": "Site {site} is RED ({why}): lots from it are refused.",
        "alert.site_yellow": "Site {site} is yellow ({why}): risks were found that must be "
        "remedied.",
        "alert.site_blue": "Site {site} is blue ({why}): it needs a new inspection.",
        "alert.tainted": "Lot {lot} cannot be exported: it is tainted by open incident "
        "{incidents} upstream.",
        "alert.revoked_key": "Entry #{seq} ({type} by {actor}) was signed at {time} with key "
        "{key_id}..., whose revocation (entry #{revoked_seq}) is effective from {effective}: "
        "signed with a key revoked before it signed.",
        "site.green": "green",
        "site.yellow": "yellow",
        "site.red": "RED",
        "site.blue": "blue",
        "basis.inspection": "inspection {basis} of {date}",
        "basis.registration": "as recorded at its registration on {date}",
        "basis.never_inspected": "never inspected",
        "basis.lapsed": "inspection {basis} of {date} lapsed on {until}",
        "basis.age": "its green inspection {basis} of {date} is more than a year old",
        "basis.registration_age": "the green recorded at its registration on {date} is more "
        "than a year old",
        "status_history": "History",
        "site_then": "site status then",
        "inspected_by": "by",
        "export": "Export",
        "tainted_by": "blocked by open incident {incidents}",
        "revoked_key_step": "Signed with a key revoked before it signed (effective {effective}, "
        "entry #{revoked_seq}).",
        "alert.flag": "Flag on {subject}: {message}",
        "alert.revoked": "Attestation {id} ({claim}, {subject}) was revoked.",
        "alert.expired": "Attestation {id} ({claim}, {subject}) has expired.",
        "alert.incident": "Open incident ({severity}): {category}, reported about {subject}, "
        "observed {observed}. Until it is resolved the lot cannot be exported.",
        "incidents": "Incidents",
        "incident.open": "open",
        "incident.resolved": "resolved",
        "reported_by": "reported by",
        "resolved_by": "resolved by",
        "language": "Français",
        # indicators
        "ind.title": "Programme indicators",
        "ind.as_of": "On {day}, from the {size} entries of the ledger.",
        "ind.miners": "Registered miners by sex",
        "ind.sex.female": "Women",
        "ind.sex.male": "Men",
        "ind.sex.other": "Other",
        "ind.sex.unknown": "Not stated or erased",
        "ind.sex.total": "Total",
        "ind.suppression": "{marker}: not shown, because the cell counts fewer than {threshold} "
        "people, or because it would let such a cell be worked out from the total.",
        "ind.suppressed_title": "suppressed: fewer than {threshold} people, or recoverable",
        "ind.cooperatives": "Registered cooperatives",
        "ind.sites": "Mine sites by inspection status today",
        "ind.status.green": "green",
        "ind.status.yellow": "yellow",
        "ind.status.red": "red",
        "ind.status.blue": "blue (not inspected, or lapsed)",
        "ind.status.unknown": "unknown",
        "ind.mass_mineral": "Mass registered at mine sites, by mineral",
        "ind.mass_status": "Mass registered at mine sites, by the site's status at registration",
        "ind.attested": "Mass backed by valid attestations",
        "ind.attested_share": "{share}% ({backed} kg of {registered} kg)",
        "ind.attested_how": "Registered mass whose lot or origin site has, today, a valid and "
        "unrevoked attestation (child labour, mercury, armed groups, assay ...; inspections are "
        "counted above).",
        "ind.incidents": "Incidents by category",
        "ind.open": "open",
        "ind.resolved": "resolved",
        "ind.converted": "became an incident",
        "ind.grievances": "Grievances per mine site",
        "ind.grievances_how": "Anonymous reports, counted; their text is read only by the "
        "registrar, auditors and regulators.",
        "ind.category.serious_abuses": "Serious abuses",
        "ind.category.non_state_armed_groups": "Support to non-state armed groups",
        "ind.category.security_forces": "Public or private security forces",
        "ind.category.bribery_fraudulent_origin": "Bribery, fraudulent origin",
        "ind.category.money_laundering": "Money laundering",
        "ind.category.taxes_fees_royalties": "Unpaid taxes, fees and royalties",
    },
    "fr": {
        "title": "Provenance du lot {lot}",
        "lot": "Lot",
        "mineral": "Minerai",
        "form": "Forme",
        "mass": "Masse",
        "grade": "Teneur",
        "status": "État",
        "held_by": "Détenu par",
        "sent_to": "En route vers",
        "tags": "Étiquettes",
        "verified": "Vérifié par rapport au point de contrôle {size} de {origin}",
        "verified_how": "Le serveur de cette page a exécuté le vérificateur de l'acheteur sur "
        "le paquet de preuves ci-dessous : chaque signature, preuve d'inclusion, règle de "
        "garde et bilan de masse est respecté.",
        "not_verified": "NON VÉRIFIÉ : le paquet de preuves de ce lot ne se vérifie pas",
        "alerts": "Avertissements",
        "no_alerts": "Aucun signalement, incident, écart ni attestation retirée dans la "
        "provenance de ce lot.",
        "origin_sites": "Sites miniers d'origine",
        "region": "Région",
        "country": "Pays",
        "coordinates": "Coordonnées",
        "inspection": "Statut d'inspection",
        "operated_by": "Exploité par",
        "licence": "Permis",
        "timeline": "Chaîne de garde",
        "attestations": "Attestations",
        "attested_by": "par",
        "valid_until": "valable jusqu'au",
        "bundle": "Vérifiez vous-même",
        "download": "Télécharger le paquet de preuves",
        "how_to_verify": "Vérifiez-le hors ligne avec la clé de l'opérateur :",
        "label_current": "L'étiquette correspond à l'historique actuel du lot.",
        "label_earlier": "L'étiquette a été imprimée plus tôt dans l'historique du lot ; "
        "{count} entrées ont été ajoutées depuis.",
        "label_mismatch": "L'empreinte {h} de l'étiquette ne correspond à aucune entrée de "
        "l'historique de ce lot : l'étiquette est peut-être falsifiée, ou cette page montre un "
        "autre historique.",
        "status.held": "détenu",
        "status.in_transit": "en transit",
        "status.consumed": "consommé (mélangé, divisé ou transformé)",
        "status.exported": "exporté",
        "att.valid": "valable",
        "att.expired": "expirée",
        "att.revoked": "RÉVOQUÉE",
        "att.not_yet_valid": "pas encore valable",
        "type.lot.register": "Enregistré au site minier",
        "type.lot.dispatch": "Expédié",
        "type.lot.receive": "Reçu et pesé",
        "type.lot.split": "Divisé",
        "type.lot.merge": "Mélangé",
        "type.lot.process": "Transformé",
        "type.lot.export": "Exporté",
        "to": "à",
        "certificate": "certificat",
        "destination": "destination",
        "alert.not_verified": "La vérification a échoué : {reasons}",
        "alert.site_red": "Le site {site} est ROUGE ({why}) : ses lots sont refusés.",
        "alert.site_yellow": "Le site {site} est jaune ({why}) : des risques à corriger ont été "
        "constatés.",
        "alert.site_blue": "Le site {site} est bleu ({why}) : il doit être inspecté à nouveau.",
        "alert.tainted": "Le lot {lot} ne peut pas être exporté : il est entaché par l'incident "
        "ouvert {incidents} en amont.",
        "alert.revoked_key": "L'entrée n° {seq} ({type} par {actor}) a été signée le {time} avec "
        "la clé {key_id}..., dont la révocation (entrée n° {revoked_seq}) prend effet le "
        "{effective} : signée avec une clé révoquée avant la signature.",
        "site.green": "vert",
        "site.yellow": "jaune",
        "site.red": "ROUGE",
        "site.blue": "bleu",
        "basis.inspection": "inspection {basis} du {date}",
        "basis.registration": "tel qu'enregistré à son inscription le {date}",
        "basis.never_inspected": "jamais inspecté",
        "basis.lapsed": "l'inspection {basis} du {date} a expiré le {until}",
        "basis.age": "son inspection verte {basis} du {date} date de plus d'un an",
        "basis.registration_age": "le vert enregistré à son inscription le {date} date de plus "
        "d'un an",
        "status_history": "Historique",
        "site_then": "statut du site alors",
        "inspected_by": "par",
        "export": "Exportation",
        "tainted_by": "bloquée par l'incident ouvert {incidents}",
        "revoked_key_step": "Signée avec une clé révoquée avant la signature (effet le "
        "{effective}, entrée n° {revoked_seq}).",
        "alert.flag": "Signalement sur {subject} : {message}",
        "alert.revoked": "L'attestation {id} ({claim}, {subject}) a été révoquée.",
        "alert.expired": "L'attestation {id} ({claim}, {subject}) a expiré.",
        "alert.incident": "Incident ouvert ({severity}) : {category}, signalé sur {subject}, "
        "constaté le {observed}. Tant qu'il n'est pas résolu, le lot ne peut pas être exporté.",
        "incidents": "Incidents",
        "incident.open": "ouvert",
        "incident.resolved": "résolu",
        "reported_by": "signalé par",
        "resolved_by": "résolu par",
        "language": "English",
        # indicators
        "ind.title": "Indicateurs du programme",
        "ind.as_of": "Au {day}, d'après les {size} entrées du registre.",
        "ind.miners": "Mineurs enregistrés par sexe",
        "ind.sex.female": "Femmes",
        "ind.sex.male": "Hommes",
        "ind.sex.other": "Autre",
        "ind.sex.unknown": "Non indiqué ou effacé",
        "ind.sex.total": "Total",
        "ind.suppression": "{marker} : non affiché, car la case compte moins de {threshold} "
        "personnes, ou parce qu'elle permettrait de retrouver une telle case à partir du total.",
        "ind.suppressed_title": "masqué : moins de {threshold} personnes, ou déductible",
        "ind.cooperatives": "Coopératives enregistrées",
        "ind.sites": "Sites miniers par statut d'inspection aujourd'hui",
        "ind.status.green": "vert",
        "ind.status.yellow": "jaune",
        "ind.status.red": "rouge",
        "ind.status.blue": "bleu (non inspecté, ou échu)",
        "ind.status.unknown": "inconnu",
        "ind.mass_mineral": "Masse enregistrée aux sites miniers, par minerai",
        "ind.mass_status": "Masse enregistrée aux sites miniers, par statut du site à "
        "l'enregistrement",
        "ind.attested": "Masse couverte par des attestations valables",
        "ind.attested_share": "{share} % ({backed} kg sur {registered} kg)",
        "ind.attested_how": "Masse enregistrée dont le lot ou le site d'origine a, aujourd'hui, "
        "une attestation valable et non révoquée (travail des enfants, mercure, groupes armés, "
        "analyse ... ; les inspections sont comptées plus haut).",
        "ind.incidents": "Incidents par catégorie",
        "ind.open": "ouverts",
        "ind.resolved": "résolus",
        "ind.converted": "devenus incidents",
        "ind.grievances": "Plaintes par site minier",
        "ind.grievances_how": "Signalements anonymes, comptés ; leur texte n'est lu que par le "
        "registraire, les auditeurs et les régulateurs.",
        "ind.category.serious_abuses": "Atteintes graves",
        "ind.category.non_state_armed_groups": "Soutien à des groupes armés non étatiques",
        "ind.category.security_forces": "Forces de sécurité publiques ou privées",
        "ind.category.bribery_fraudulent_origin": "Corruption, fausse déclaration d'origine",
        "ind.category.money_laundering": "Blanchiment d'argent",
        "ind.category.taxes_fees_royalties": "Taxes, droits et redevances impayés",
    },
}


def choose(request: Request) -> str:
    """``?lang=en|fr`` first, then the best match of ``Accept-Language``, else English."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return str(asked)
    return request.accept_languages.best_match(LANGUAGES, default="en") or "en"


def translator(lang: str) -> Callable[..., str]:
    """``t(key, **params)``: the string in ``lang`` (English when missing), formatted."""
    table = CATALOGUE.get(lang, CATALOGUE["en"])

    def t(key: str, **params: Any) -> str:
        text = table.get(key) or CATALOGUE["en"].get(key) or key
        return text.format(**params) if params else text

    return t
