"""The user services: accounts, bearer tokens, passwords and sessions.

Passwords are hashed with argon2; a bearer token is kept as its SHA-256 only. Every change is
audited in the same transaction. Nothing here imports Flask or the web layer.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from forms.helseforetak import registry
from processor.domain import HF_FUNCTIONS, ROLES, Actor, hf_code
from processor.errors import DomainError
from processor.identity import contains_identity
from storage.models import ApiToken, User
from storage.uow import AbstractUnitOfWork

__all__ = [
    "MIN_PASSWORD_CHARS",
    "TOKEN_USE_RESOLUTION",
    "add_user",
    "authenticate_password",
    "authenticate_token",
    "clean_epost",
    "clean_functions",
    "clean_name",
    "clean_sub",
    "create_token",
    "deactivate_user",
    "end_sessions",
    "hash_token",
    "login_by_sub",
    "session_generation",
    "set_contact",
    "set_functions",
    "set_password",
]

# `last_used_at` of a bearer token is written at most this often (see authenticate_token)
TOKEN_USE_RESOLUTION = timedelta(minutes=5)

# ---- users and tokens ---------------------------------------------------------------------------

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the user does not exist, so both paths cost the same."""
    return _hasher.hash(secrets.token_hex(16))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_user(
    uow: AbstractUnitOfWork,
    username: str,
    *,
    roles: list[str] | tuple[str, ...],
    hf: str | None = None,
    display_name: str = "",
    beslutningstaker: bool = False,
    fagomrader: list[str] | tuple[str, ...] = (),
    password: str | None = None,
    epost: str | None = None,
    oidc_sub: str | None = None,
    funksjoner: list[str] | tuple[str, ...] = (),
    actor: str = "system",
) -> User:
    """Create a user; `password=None` makes an API-only user (bearer tokens only); `epost` and
    `oidc_sub` as in `set_contact`; `funksjoner` as in `set_functions` (role `hf` only);
    `display_name` is the name shown in sign-offs and receipts (default: the username)."""
    epost, oidc_sub = clean_epost(epost), clean_sub(oidc_sub)
    functions = clean_functions(funksjoner, roles)
    display_name = clean_name(display_name)
    username = username.strip()
    if not username or len(username) > 100 or contains_identity(username):
        raise DomainError("INVALID_VALUE", "Ugyldig brukernavn.")
    unknown = sorted(set(roles) - set(ROLES))
    if unknown or not roles:
        raise DomainError("INVALID_VALUE", f"Ukjent rolle: {', '.join(unknown) or 'ingen'}.")
    if hf is not None:
        hf = hf_code(hf)
        if hf not in registry().trusts:
            raise DomainError("INVALID_VALUE", f"Ukjent helseforetak: {hf}.")
    if "hf" in roles and hf is None:
        raise DomainError("INVALID_VALUE", "En bruker med rollen hf må høre til et helseforetak.")
    password_hash = _hasher.hash(password) if password else None
    with uow:
        if uow.users.get(username) is not None:
            raise DomainError("USER_EXISTS")
        user = User(
            username,
            display_name=display_name,
            roles=list(roles),
            hf=hf,
            beslutningstaker=beslutningstaker,
            fagomrader=list(fagomrader),
            password_hash=password_hash,
            created_at=uow.now(),
        )
        user.funksjoner = functions
        _apply_contact(uow, user, epost=epost, oidc_sub=oidc_sub)
        uow.users.add(user)
        uow.audit.append(
            actor=actor,
            action="user.add",
            object=f"user:{username}",
            at=uow.now(),
            details={
                "roles": sorted(set(roles)),
                "hf": hf,
                "beslutningstaker": beslutningstaker,
                **({"funksjoner": functions} if functions else {}),
            },
        )
        uow.commit()
    return user


def create_token(uow: AbstractUnitOfWork, username: str, *, actor: str = "system") -> str:
    """A new bearer token for the user; only its SHA-256 is stored. Returns the token."""
    token = secrets.token_urlsafe(32)
    with uow:
        user = uow.users.get(username)
        if user is None:
            raise DomainError("USER_NOT_FOUND")
        uow.tokens.add(ApiToken(user=user, token_sha256=hash_token(token), created_at=uow.now()))
        uow.audit.append(
            actor=actor, action="token.create", object=f"user:{username}", at=uow.now()
        )
        uow.commit()
    return token


def authenticate_token(uow: AbstractUnitOfWork, token: str) -> Actor | None:
    """The active user the bearer token belongs to, or None.

    Marks the token used at most once per `TOKEN_USE_RESOLUTION`: writing `last_used_at` on
    every request would make every API call a write transaction (on SQLite one writer at a time,
    with an fsync), for a time nobody needs to the second.

    One query and at most one update, each complete on its own: the web layer runs this on a
    unit of work without a surrounding transaction (`Storage.statement_uow`).
    """
    if not token:
        return None
    sha = hash_token(token)
    with uow:
        owner = uow.tokens.owner(sha)
        if owner is None or not owner.active:
            return None
        now = uow.now()
        last = owner.last_used_at
        if last is None or now - last >= TOKEN_USE_RESOLUTION or now < last:
            uow.tokens.mark_used(sha, now)
            uow.commit()
    return owner.actor


# ---- sessions, passwords, deactivation -----------------------------------------------------------

MIN_PASSWORD_CHARS = 8


def session_generation(uow: AbstractUnitOfWork, username: str) -> int | None:
    """The user's current session generation, or None for an unknown or inactive user."""
    with uow:
        user = uow.users.get(username)
        return user.session_generation if user is not None and user.active else None


def _end_sessions(uow: AbstractUnitOfWork, username: str, action: str, actor: str) -> User:
    """Move the user's session generation on (every session ends) and audit `action`."""
    user = uow.users.get(username)
    if user is None:
        raise DomainError("USER_NOT_FOUND")
    user.session_generation = (user.session_generation or 0) + 1
    uow.audit.append(actor=actor, action=action, object=f"user:{username}", at=uow.now())
    return user


def end_sessions(uow: AbstractUnitOfWork, username: str, *, actor: str | None = None) -> None:
    """End every session of the user (logging out ends them all, on every device)."""
    with uow:
        _end_sessions(uow, username, "user.logout", actor or username)
        uow.commit()


def set_password(
    uow: AbstractUnitOfWork, username: str, password: str, *, actor: str = "system"
) -> None:
    """A new password for the user; every session of the user ends."""
    if len(password) < MIN_PASSWORD_CHARS or len(password) > 1000:
        raise DomainError(
            "INVALID_VALUE", f"Passordet må ha minst {MIN_PASSWORD_CHARS} og høyst 1000 tegn."
        )
    password_hash = _hasher.hash(password)
    with uow:
        _end_sessions(uow, username, "user.password", actor).password_hash = password_hash
        uow.commit()


def deactivate_user(uow: AbstractUnitOfWork, username: str, *, actor: str = "system") -> None:
    """The user can no longer log in nor use a token; every session of the user ends."""
    with uow:
        _end_sessions(uow, username, "user.deactivate", actor).active = False
        uow.commit()


def authenticate_password(uow: AbstractUnitOfWork, username: str, password: str) -> Actor | None:
    """The active user with this username and password, with the audit event `innlogging`
    (method `passord`, as `login_by_sub` writes it with `oidc`); None (and nothing written)
    otherwise, after the same work either way."""
    with uow:
        user = uow.users.get(username)
        stored = user.password_hash if user is not None and user.active else None
        try:
            _hasher.verify(stored or _dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            return None
        if user is None or stored is None:
            return None
        if _hasher.check_needs_rehash(stored):
            user.password_hash = _hasher.hash(password)
        return _logged_in(uow, user, "passord")


def _logged_in(uow: AbstractUnitOfWork, user: User, method: str) -> Actor:
    """A login that succeeded: the audit event `innlogging` (CONNECTIONS.md section 1) with how
    the user logged in, committed with whatever the login changed; the user as an actor."""
    uow.audit.append(
        actor=user.username,
        action="innlogging",
        object=f"user:{user.username}",
        at=uow.now(),
        details={"method": method},
    )
    uow.commit()
    return Actor.of(user)


# ---- e-mail address and single sign-on subject (CONNECTIONS.md section 1) ---------------------
#
# A `sub` (the OpenID provider's subject identifier) belongs to one user at most; logins never
# create users: an unknown or inactive subject gets no session.

MAX_EPOST = 254
MAX_SUB = 255


class _Unset:
    pass


UNSET = _Unset()


def clean_epost(value: str | None) -> str | None:
    """The address as stored: None for '' (removes it); a clear refusal for anything else that is
    not one plain address (no display name, no list, no line break, no identity number)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if contains_identity(value):  # stored, and copied into every outbox row: never repeated
        raise DomainError("INVALID_VALUE", "E-postadressen kan ikke inneholde et personnummer.")
    local, at, domain = value.rpartition("@")
    if (
        not at
        or not local
        or "." not in domain.strip(".")
        or len(value) > MAX_EPOST
        or any(c.isspace() or c in '<>,;"()[]\\' for c in value)
    ):
        raise DomainError("INVALID_VALUE", f"Ugyldig e-postadresse: {value[:MAX_EPOST]!r}.")
    return value


def clean_sub(value: str | None) -> str | None:
    """The subject as stored: None for '' (removes it)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if len(value) > MAX_SUB or not value.isprintable():
        raise DomainError("INVALID_VALUE", "Ugyldig OIDC-sub: høyst 255 synlige tegn.")
    return value


def _apply_contact(
    uow: AbstractUnitOfWork,
    user: User,
    *,
    epost: str | None | _Unset = UNSET,
    oidc_sub: str | None | _Unset = UNSET,
) -> list[str]:
    """Set the user's address and subject inside the caller's transaction (values already
    cleaned); the names of the fields that changed. A subject of another user is refused."""
    changed = []
    if not isinstance(epost, _Unset) and epost != user.epost:
        user.epost = epost
        changed.append("epost")
    if not isinstance(oidc_sub, _Unset) and oidc_sub != user.oidc_sub:
        if oidc_sub is not None:
            owner = uow.users.by_oidc_sub(oidc_sub)
            if owner is not None and owner.username != user.username:
                raise DomainError(
                    "CONFLICT",
                    f"OIDC-sub-en hører allerede til brukeren {owner.username}. En sub kan bare "
                    "høre til én bruker.",
                )
        user.oidc_sub = oidc_sub
        changed.append("oidc_sub")
    return changed


def set_contact(
    uow: AbstractUnitOfWork,
    username: str,
    *,
    epost: str | None | _Unset = UNSET,
    oidc_sub: str | None | _Unset = UNSET,
    actor: str = "system",
) -> list[str]:
    """`skjemamottak user set`: a new address and/or subject ('' removes); the changed fields.
    A new subject ends every session of the user (a login by the old one must not survive)."""
    epost = epost if isinstance(epost, _Unset) else clean_epost(epost)
    oidc_sub = oidc_sub if isinstance(oidc_sub, _Unset) else clean_sub(oidc_sub)
    with uow:
        user = uow.users.get(username.strip())
        if user is None:
            raise DomainError("USER_NOT_FOUND")
        changed = _apply_contact(uow, user, epost=epost, oidc_sub=oidc_sub)
        if changed:
            if "oidc_sub" in changed:
                user.session_generation = (user.session_generation or 0) + 1
            uow.audit.append(
                actor=actor,
                action="user.set",
                object=f"user:{user.username}",
                at=uow.now(),
                details={"endret": changed},
            )
            uow.commit()
    return changed


def login_by_sub(uow: AbstractUnitOfWork, sub: str) -> Actor | None:
    """The active user whose subject is `sub`, with the audit event `innlogging` (method `oidc`);
    None (and nothing written) for any other subject."""
    if not sub or len(sub) > MAX_SUB:
        return None
    with uow:
        user = uow.users.by_oidc_sub(sub)
        if user is None or not user.active:
            return None
        return _logged_in(uow, user, "oidc")


# ---- HF functions and display names (PORTAL.md section 2) ----------------------------------------

MAX_NAME_CHARS = 200


def clean_functions(
    funksjoner: list[str] | tuple[str, ...] | None, roles: list[str] | tuple[str, ...] | set[str]
) -> list[str]:
    """The HF functions as stored (`lege`, `linjeleder`, `fagdirektor`, each once, in that
    order); INVALID_VALUE for another word, or for functions of a user without role `hf`."""
    given = [t for f in funksjoner or () if (t := str(f).strip().lower())]  # '' = none
    unknown = sorted({f for f in given if f not in HF_FUNCTIONS})
    if unknown:
        raise DomainError(
            "INVALID_VALUE",
            f"Ukjent funksjon: {', '.join(unknown)}. Bruk lege, linjeleder eller fagdirektor.",
        )
    if given and "hf" not in set(roles):
        raise DomainError(
            "INVALID_VALUE", "Bare brukere med rollen hf kan ha en funksjon ved helseforetaket."
        )
    return [str(f) for f in HF_FUNCTIONS if f in given]


def clean_name(name: str | None) -> str:
    """A display name as stored ("" = the username); INVALID_VALUE when too long or when it
    holds an identity number."""
    text = " ".join((name or "").split())
    if len(text) > MAX_NAME_CHARS:
        raise DomainError("INVALID_VALUE", f"Navnet kan være på høyst {MAX_NAME_CHARS} tegn.")
    if contains_identity(text):
        raise DomainError("INVALID_VALUE", "Navnet kan ikke inneholde et personnummer.")
    return text


def set_functions(
    uow: AbstractUnitOfWork,
    username: str,
    *,
    funksjoner: list[str] | tuple[str, ...] | None = None,
    navn: str | None = None,
    actor: str = "system",
) -> list[str]:
    """`skjemamottak user set NAME --funksjon F ... --navn TEXT`: the user's HF functions
    (replaced as a whole when given) and display name; the changed fields."""
    with uow:
        user = uow.users.get(username)
        if user is None:
            raise DomainError("USER_NOT_FOUND")
        changed: list[str] = []
        if funksjoner is not None:
            functions = clean_functions(funksjoner, list(user.roles))
            if functions != list(user.funksjoner or []):
                user.funksjoner = functions
                changed.append("funksjoner")
        if navn is not None:
            name = clean_name(navn) or user.username
            if name != user.display_name:
                user.display_name = name
                changed.append("navn")
        if changed:
            uow.audit.append(
                actor=actor,
                action="user.set",
                object=f"user:{username}",
                at=uow.now(),
                details={"changed": changed, "funksjoner": list(user.funksjoner or [])},
            )
            uow.commit()
    return changed
