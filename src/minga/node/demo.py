"""Demo outlet: three reporters and sample dispatches in Spanish and English.

All people, events and quotes here are invented for minga's demo.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model

from minga.blobs.storage import BlobStore
from minga.events.event import Event
from minga.events.kinds import DELETION, LONG_FORM, NOTE
from minga.events.signing import SecretKey, sign_event
from minga.keys import custody
from minga.keys.nip19 import npub_encode, nsec_encode
from minga.newsroom import people, workflow
from minga.newsroom.models import Person
from minga.node.demo_photo import demo_photo
from minga.node.setup import create_admin, ensure_identity, migrate
from minga.store.ingest import ingest
from minga.store.query import count

OUTLET_NAME = "Minga Noticias (demo)"
ADMIN = "editora"
DEMO_PASSWORD = "minga-demo-2026"  # noqa: S105 - a demo on loopback, printed on purpose

REPORTERS = (
    ("rosa", "Rosa Quispe", "reporter"),
    ("teodoro", "Teodoro Mamani", "reporter"),
    ("lucia", "Lucía Ferrer", "editor"),
)

HOUR = 3600

# (reporter index, hours ago, d, language, title, summary, place, hashtags, body)
Dispatch = tuple[int, float, str, str, str, str, str, tuple[str, ...], str]
DISPATCHES: tuple[Dispatch, ...] = (
    (
        0,
        30,
        "paro-nacional-dia-1",
        "es",
        "Primer día del paro: la capital amanece sin transporte",
        "Mercados cerrados, colas en los paraderos y marchas hacia el centro.",
        "Lima, Cercado",
        ("paronacional", "transporte"),
        "Desde las cinco de la mañana no circula el transporte público en la avenida "
        'Abancay. Vendedoras del mercado central cuentan que bajaron las rejas "por '
        'solidaridad y por miedo".\n\nA las nueve, unas dos mil personas caminaban hacia la '
        "plaza. La policía cerró tres cuadras con vallas metálicas. No vimos detenciones "
        "hasta el cierre de esta nota.\n\n*Seguimos en la zona.*",
    ),
    (
        1,
        26,
        "puno-carretera-bloqueada",
        "es",
        "Puno: comuneros bloquean la carretera a Juliaca",
        "Piedras y llantas en el kilómetro 12; piden la renuncia del gabinete.",
        "Puno, km 12 de la vía a Juliaca",
        ("puno", "bloqueos"),
        "Comuneros de cuatro distritos mantienen el bloqueo desde la madrugada. "
        '"No nos vamos a mover hasta que nos escuchen", dijo una dirigenta que pidió no ser '
        "nombrada.\n\nLos camiones de carga esperan en fila; un bus con pasajeros fue "
        "dejado pasar por razones de salud.",
    ),
    (
        2,
        24,
        "national-strike-day-1",
        "en",
        "General strike, day one: the capital at a standstill",
        "Transport halted, markets shut, thousands march to the centre.",
        "Lima",
        ("generalstrike", "peru"),
        "Public transport stopped before dawn and most markets stayed closed as a "
        "general strike began. Our reporters on the ground counted some two thousand "
        "marchers heading for the main square by mid-morning.\n\nPolice closed three "
        "blocks with metal fences. No arrests had been confirmed at the time of writing.",
    ),
    (
        0,
        8,
        "gases-plaza-san-martin",
        "es",
        "Gases lacrimógenos en la plaza San Martín",
        "La policía dispersó la marcha al caer la tarde; brigadistas atienden a heridos.",
        "Lima, plaza San Martín",
        ("paronacional", "derechoshumanos"),
        "A las 18:40 la policía lanzó gases lacrimógenos contra la marcha que ocupaba la "
        "plaza. Brigadistas voluntarios atendieron a por lo menos once personas por "
        "asfixia.\n\nUn reportero gráfico de otro medio fue golpeado en el brazo; su "
        "cámara quedó dañada.",
    ),
    (
        1,
        5,
        "juliaca-asamblea",
        "es",
        "Juliaca: la asamblea decide seguir el paro",
        "Votación a mano alzada en el coliseo; el bloqueo sigue mañana.",
        "Juliaca, coliseo municipal",
        ("puno", "asamblea"),
        "Más de tres mil personas votaron a mano alzada por continuar el paro. La "
        'asamblea pidió a los medios transmitir "sin cortes" y nombró una comisión '
        "para hablar con la prensa.",
    ),
    (
        2,
        4,
        "teargas-san-martin-square",
        "en",
        "Tear gas in San Martín square as night falls",
        "Volunteer medics treat at least eleven people; a photographer is injured.",
        "Lima, San Martín square",
        ("generalstrike", "humanrights"),
        "Police fired tear gas at the march in San Martín square at 18:40 local time. "
        "Volunteer medics treated at least eleven people for breathing problems, and a "
        "photographer from another outlet was struck on the arm.",
    ),
)

NOTES: tuple[tuple[int, float, str], ...] = (
    (0, 29, "Sin señal móvil en el centro desde hace 20 minutos. Envío por wifi de una tienda."),
    (1, 25, "Llegando al km 12. La vía está cerrada en ambos sentidos."),
    (2, 23, "Desk: translations of Rosa's and Teodoro's first dispatches are up."),
    (0, 7, "Estoy bien. Me alejo de la plaza por el jirón Ocoña."),
)

# A corrected second version of the first dispatch (same d tag): the store keeps both.
CORRECTION = (
    0,
    28,
    "Desde las cinco de la mañana no circula el transporte público en la avenida "
    'Abancay. Vendedoras del mercado central cuentan que bajaron las rejas "por '
    'solidaridad y por miedo".\n\nA las nueve, unas **tres mil** personas caminaban hacia '
    "la plaza (corregido: la primera versión decía dos mil, según el conteo de la "
    "policía). La policía cerró tres cuadras con vallas metálicas.\n\n*Seguimos en la zona.*",
)


CORRECTION_NOTE = "La primera versión decía dos mil personas; el conteo fue de tres mil."


@dataclass(frozen=True)
class Summary:
    outlet_name: str
    admin: str
    reporters: list[tuple[str, str, str]]
    events: int


# English versions of Spanish dispatches: d of the translation -> d of the original.
TRANSLATIONS = {
    "national-strike-day-1": "paro-nacional-dia-1",
    "teargas-san-martin-square": "gases-plaza-san-martin",
}


def _dispatch(
    key: SecretKey,
    now: int,
    item: Dispatch,
    body: str | None = None,
    hours: float | None = None,
    extra: list[list[str]] | None = None,
) -> Event:
    _, ago, d, lang, title, summary, place, hashtags, text = item
    created = now - int((hours if hours is not None else ago) * HOUR)
    tags = [
        ["d", d],
        ["title", title],
        ["summary", summary],
        ["published_at", str(now - int(ago * HOUR))],
        ["L", "ISO-639-1"],
        ["l", lang, "ISO-639-1"],
        ["location", place],
        *[["t", t] for t in hashtags],
        *(extra or []),
    ]
    return sign_event(key, LONG_FORM, body or text, tags, created)


def populate() -> Summary:
    """Create the demo outlet once; later runs reuse it."""
    migrate()
    identity = ensure_identity(OUTLET_NAME)
    people_keys: list[tuple[str, str, SecretKey]] = []
    for username, name, role in REPORTERS:
        person = Person.objects.filter(user__username=username).first()
        if person is None:
            person = people.create_person(username, DEMO_PASSWORD, name, role)
        people_keys.append((username, name, custody.load(person.pubkey)))
    keys = [key for _, _, key in people_keys]
    if not get_user_model().objects.filter(username=ADMIN).exists():
        create_admin(ADMIN, DEMO_PASSWORD)
    if count() < 10:
        now = int(time.time())
        events: list[Event] = []
        rosa = Person.objects.get(pubkey=keys[0].pubkey)
        photo = demo_photo(rosa, BlobStore(settings.MINGA.data_path / "blobs"))
        address = {d[2]: f"{LONG_FORM}:{keys[d[0]].pubkey}:{d[2]}" for d in DISPATCHES}
        for item in DISPATCHES:
            extra = [photo] if item[2] == "paro-nacional-dia-1" else []
            if item[2] in TRANSLATIONS:
                extra.append(["a", address[TRANSLATIONS[item[2]]], "", "translation"])
            events.append(_dispatch(keys[item[0]], now, item, extra=extra))

        notes: dict[tuple[int, float], str] = {}
        for who, ago, text in NOTES:
            note = sign_event(keys[who], NOTE, text, [], now - int(ago * HOUR))
            notes[(who, ago)] = note.id
            events.append(note)
        mistaken = sign_event(
            keys[1], NOTE, "Reportan un herido en el km 12 (sin confirmar).", [], now - 25 * HOUR
        )
        retraction = sign_event(
            keys[1],
            DELETION,
            "No se confirmó: el herido era de otro bloqueo, en Ilave.",
            [["e", mistaken.id], ["k", str(NOTE)]],
            now - 24 * HOUR,
        )
        events += [mistaken, retraction]
        for outcome in ingest(events):
            if not outcome.ok:
                raise RuntimeError(f"demo event refused: {outcome.message}")
        # The desk has published the older dispatches; the last two wait for it.
        editor = get_user_model().objects.get(username=ADMIN)
        for item in sorted(DISPATCHES[:4], key=lambda d: -d[1]):
            workflow.publish(address[item[2]], editor)
        for who, ago, _text in NOTES[:2]:
            workflow.publish(notes[(who, ago)], editor)
        # Then the desk corrects the first one, with a public note.
        who, _hours, corrected = CORRECTION
        workflow.revise(
            address[DISPATCHES[who][2]], editor, content=corrected, correction=CORRECTION_NOTE
        )
    reporters = [
        (f"{name} ({username})", npub_encode(key.pubkey), nsec_encode(key.hex()))
        for username, name, key in people_keys
    ]
    return Summary(identity.outlet_name, ADMIN, reporters, count())
