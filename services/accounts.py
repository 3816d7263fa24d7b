"""A user's e-mail address and single sign-on subject, and logging in by that subject
(CONNECTIONS.md section 1).

A `sub` (the OpenID provider's subject identifier) belongs to one user at most; logins never
create users: an unknown or inactive subject gets no session.
"""

from __future__ import annotations

from processor.domain import Actor
from processor.errors import DomainError
from storage.models import User
from storage.uow import AbstractUnitOfWork

MAX_EPOST = 254
MAX_SUB = 255


class _Unset:
    pass


UNSET = _Unset()


def clean_epost(value: str | None) -> str | None:
    """The address as stored: None for '' (removes it); a clear refusal for anything else that is
    not one plain address (no display name, no list, no line break)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
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


def apply(
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
        changed = apply(uow, user, epost=epost, oidc_sub=oidc_sub)
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
        uow.audit.append(
            actor=user.username,
            action="innlogging",
            object=f"user:{user.username}",
            at=uow.now(),
            details={"method": "oidc"},
        )
        uow.commit()
        return Actor.of(user)
