from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import func, select

from pb import audit
from pb.accounts import AccountService, LoginAttempt, Role, User, UserRole
from pb.audit import AuditEntry
from pb.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound, Throttled
from pb.models import utcnow

PASSWORD = "correct horse 42"


async def _count(session, model) -> int:
    return (await session.exec(select(func.count()).select_from(model))).one()


async def _snapshot(session) -> tuple[int, ...]:
    return tuple([await _count(session, m) for m in (User, UserRole, LoginAttempt, AuditEntry)])


@pytest.fixture
def accounts(db_session, settings) -> AccountService:
    return AccountService(db_session, settings)


async def _admin(accounts: AccountService) -> User:
    return await accounts.create_user("admin@city.example", PASSWORD, {Role.ADMIN})


async def test_register_makes_a_resident_and_audits(accounts, db_session):
    user = await accounts.register("  Jane.Doe@Example.ORG ", PASSWORD, "  Jane   Doe ")
    assert user.id is not None
    assert user.email == "jane.doe@example.org"
    assert user.display_name == "Jane Doe"
    assert user.is_active
    assert user.password_hash.startswith("$argon2id$")
    assert await accounts.roles_of(user.id) == {Role.RESIDENT}
    [entry] = await audit.list_entries(db_session, action="user.registered")
    assert entry.subject == f"user:{user.id}" and entry.actor_id == user.id
    assert PASSWORD not in entry.data and "jane" not in entry.data


async def test_duplicate_email_is_a_conflict_whatever_the_case(accounts, db_session):
    await accounts.register("jane@example.org", PASSWORD, "Jane")
    before = await _snapshot(db_session)
    with pytest.raises(Conflict, match="An account with this e-mail already exists.") as info:
        await accounts.register("JANE@Example.org", PASSWORD, "Other Jane")
    assert info.value.field == "email"
    assert await _snapshot(db_session) == before


@pytest.mark.parametrize(
    ("email", "password", "name", "field"),
    [
        ("not-an-email", PASSWORD, "Jane", "email"),
        ("jane@localhost", PASSWORD, "Jane", "email"),
        ("ja ne@example.org", PASSWORD, "Jane", "email"),
        ("jane@example.org", "short", "Jane", "password"),
        ("jane@example.org", "onlylowercaseletters", "Jane", "password"),
        ("jane@example.org", "jane@example.org", "Jane", "password"),
        ("jane@example.org", PASSWORD, "   ", "display_name"),
        ("jane@example.org", PASSWORD, "x" * 121, "display_name"),
    ],
)
async def test_register_rejects_bad_input_and_changes_nothing(
    accounts, db_session, email, password, name, field
):
    before = await _snapshot(db_session)
    with pytest.raises(InvalidInput) as info:
        await accounts.register(email, password, name)
    assert info.value.field == field
    assert await _snapshot(db_session) == before


async def test_authenticate(accounts, db_session):
    user = await accounts.register("jane@example.org", PASSWORD, "Jane")
    assert (await accounts.authenticate("JANE@example.org ", PASSWORD, "10.0.0.1")).id == user.id
    assert await audit.list_entries(db_session, action="auth.login")


@pytest.mark.parametrize("email", ["jane@example.org", "nobody@example.org"])
async def test_wrong_credentials_are_recorded_and_audited(accounts, db_session, email):
    await accounts.register("jane@example.org", PASSWORD, "Jane")
    with pytest.raises(NotAuthenticated, match=r"^Wrong e-mail or password\.$"):
        await accounts.authenticate(email, "wrong password 1", "10.0.0.1")
    attempts = (await db_session.exec(select(LoginAttempt))).all()
    assert [(a.email, a.ip, a.succeeded) for a in attempts] == [(email, "10.0.0.1", False)]
    [entry] = await audit.list_entries(db_session, action="auth.login_failed")
    assert entry.data_dict()["ip"] == "10.0.0.1"


async def test_inactive_account_cannot_sign_in(accounts, db_session):
    admin = await _admin(accounts)
    user = await accounts.register("jane@example.org", PASSWORD, "Jane")
    await accounts.set_active(admin, user.id, False)
    with pytest.raises(NotAuthenticated):
        await accounts.authenticate("jane@example.org", PASSWORD, "10.0.0.1")


async def test_throttled_per_account_across_service_instances(db_session, settings):
    await AccountService(db_session, settings).register("jane@example.org", PASSWORD, "Jane")
    for i in range(settings.login_max_failures):
        # a new service each time, as each request makes its own: the count lives in the database
        with pytest.raises(NotAuthenticated):
            await AccountService(db_session, settings).authenticate(
                "jane@example.org", f"wrong password {i}", f"10.0.0.{i}"
            )
    with pytest.raises(Throttled) as info:
        await AccountService(db_session, settings).authenticate(
            "jane@example.org", PASSWORD, "10.9.9.9"
        )
    assert 0 < info.value.retry_after <= settings.login_window
    assert "Try again in" in info.value.message
    # other accounts are unaffected
    await AccountService(db_session, settings).register("joe@example.org", PASSWORD, "Joe")
    await AccountService(db_session, settings).authenticate("joe@example.org", PASSWORD, "10.9.9.9")


async def test_throttled_per_ip(db_session, settings):
    accounts = AccountService(db_session, settings)
    await accounts.register("jane@example.org", PASSWORD, "Jane")
    for i in range(settings.login_max_failures):
        with pytest.raises(NotAuthenticated):
            await AccountService(db_session, settings).authenticate(
                f"guess{i}@example.org", PASSWORD, "192.0.2.7"
            )
    with pytest.raises(Throttled):
        await AccountService(db_session, settings).authenticate(
            "jane@example.org", PASSWORD, "192.0.2.7"
        )
    assert (await accounts.authenticate("jane@example.org", PASSWORD, "192.0.2.8")).email


async def test_old_failures_leave_the_window(db_session, settings):
    accounts = AccountService(db_session, settings)
    await accounts.register("jane@example.org", PASSWORD, "Jane")
    old = utcnow() - timedelta(seconds=settings.login_window + 5)
    db_session.add_all(
        LoginAttempt(email="jane@example.org", ip="10.0.0.1", succeeded=False, at=old)
        for _ in range(settings.login_max_failures)
    )
    await db_session.flush()
    assert await accounts.authenticate("jane@example.org", PASSWORD, "10.0.0.1")


async def test_success_forgives_the_accounts_earlier_failures(db_session, settings):
    accounts = AccountService(db_session, settings)
    await accounts.register("jane@example.org", PASSWORD, "Jane")
    for _ in range(settings.login_max_failures - 1):
        with pytest.raises(NotAuthenticated):
            await accounts.authenticate("jane@example.org", "wrong password", f"10.0.1.{_}")
    await accounts.authenticate("jane@example.org", PASSWORD, "10.0.2.1")
    with pytest.raises(NotAuthenticated):  # not Throttled: the count started again
        await accounts.authenticate("jane@example.org", "wrong password", "10.0.3.1")


async def test_failures_survive_a_rollback_of_the_request(session_factory, settings):
    async with session_factory() as session:
        await AccountService(session, settings).register("jane@example.org", PASSWORD, "Jane")
        await session.commit()
    async with session_factory() as session:
        with pytest.raises(NotAuthenticated):
            await AccountService(session, settings).authenticate(
                "jane@example.org", "nope nope 1", "ip"
            )
        await session.rollback()  # what the web layer does when a handler raises
    async with session_factory() as session:
        assert await _count(session, LoginAttempt) == 1


async def test_rehash_on_login_when_cost_changed(db_session, settings):
    from dataclasses import replace

    user = await AccountService(db_session, settings).register("jane@example.org", PASSWORD, "Jane")
    old_hash = user.password_hash
    stronger = replace(settings, argon2_time_cost=2)
    await AccountService(db_session, stronger).authenticate("jane@example.org", PASSWORD, "ip")
    assert user.password_hash != old_hash and "t=2" in user.password_hash


async def test_change_password(accounts, db_session):
    user = await accounts.register("jane@example.org", PASSWORD, "Jane")
    await accounts.change_password(user, PASSWORD, "a new passphrase 7")
    with pytest.raises(NotAuthenticated):
        await accounts.authenticate("jane@example.org", PASSWORD, "ip")
    assert await accounts.authenticate("jane@example.org", "a new passphrase 7", "ip")
    assert await audit.list_entries(db_session, action="user.password_changed")


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("wrong password 9", "a new passphrase 7", "old_password"),
        (PASSWORD, "short", "new_password"),
        (PASSWORD, PASSWORD, "new_password"),
    ],
)
async def test_change_password_failures_change_nothing(accounts, db_session, old, new, field):
    user = await accounts.register("jane@example.org", PASSWORD, "Jane")
    before, old_hash = await _snapshot(db_session), user.password_hash
    with pytest.raises(InvalidInput) as info:
        await accounts.change_password(user, old, new)
    assert info.value.field == field
    assert user.password_hash == old_hash
    assert await _snapshot(db_session) == before


async def test_set_roles_by_admin_is_audited_with_before_and_after(accounts, db_session):
    admin = await _admin(accounts)
    user = await accounts.register("jane@example.org", PASSWORD, "Jane")
    result = await accounts.set_roles(admin, user.id, {"moderator", Role.VALUATOR})
    assert result == {Role.RESIDENT, Role.MODERATOR, Role.VALUATOR}
    assert await accounts.roles_of(user.id) == result
    [entry] = await audit.list_entries(db_session, action="user.roles_changed")
    assert entry.actor_id == admin.id and entry.subject == f"user:{user.id}"
    assert entry.data_dict() == {
        "before": ["resident"],
        "after": ["moderator", "resident", "valuator"],
    }
    await accounts.set_roles(admin, user.id, set())
    assert await accounts.roles_of(user.id) == {Role.RESIDENT}


async def test_set_roles_by_non_admin_is_forbidden_and_changes_nothing(accounts, db_session):
    await _admin(accounts)
    moderator = await accounts.create_user("mod@city.example", PASSWORD, {Role.MODERATOR})
    user = await accounts.register("jane@example.org", PASSWORD, "Jane")
    before = await _snapshot(db_session)
    with pytest.raises(Forbidden):
        await accounts.set_roles(moderator, user.id, {Role.ADMIN})
    with pytest.raises(Forbidden):
        await accounts.set_roles(user, user.id, {Role.ADMIN})
    assert await _snapshot(db_session) == before
    assert await accounts.roles_of(user.id) == {Role.RESIDENT}


async def test_set_roles_with_unknown_role_changes_nothing(accounts, db_session):
    admin = await _admin(accounts)
    user = await accounts.register("jane@example.org", PASSWORD, "Jane")
    before = await _snapshot(db_session)
    with pytest.raises(InvalidInput, match="Unknown role 'mayor'") as info:
        await accounts.set_roles(admin, user.id, {"moderator", "mayor"})
    assert info.value.field == "roles"
    assert await _snapshot(db_session) == before
    assert await accounts.roles_of(user.id) == {Role.RESIDENT}


async def test_set_roles_on_missing_user_and_last_admin(accounts, db_session):
    admin = await _admin(accounts)
    with pytest.raises(NotFound):
        await accounts.set_roles(admin, 999_999, {Role.MODERATOR})
    before = await _snapshot(db_session)
    with pytest.raises(Conflict):
        await accounts.set_roles(admin, admin.id, {Role.MODERATOR})
    assert await _snapshot(db_session) == before
    other = await accounts.create_user("admin2@city.example", PASSWORD, {Role.ADMIN})
    await accounts.set_roles(other, admin.id, {Role.MODERATOR})
    assert Role.ADMIN not in await accounts.roles_of(admin.id)


async def test_create_user_for_the_cli(accounts, db_session):
    user = await accounts.create_user("Official@City.example", PASSWORD, ["official"])
    assert user.email == "official@city.example" and user.display_name == "official"
    assert await accounts.roles_of(user.id) == {Role.OFFICIAL, Role.RESIDENT}
    [entry] = await audit.list_entries(db_session, action="user.created")
    assert entry.actor_id is None and entry.data_dict() == {"roles": ["official", "resident"]}
    with pytest.raises(InvalidInput):
        await accounts.create_user("x@city.example", PASSWORD, ["emperor"])


async def test_get_and_list_users(accounts):
    admin = await _admin(accounts)
    jane = await accounts.register("jane@example.org", PASSWORD, "Jane Doe")
    assert (await accounts.get(jane.id)).email == "jane@example.org"
    with pytest.raises(NotFound):
        await accounts.get(999_999)
    assert [u.id for u in await accounts.list_users()] == [admin.id, jane.id]
    assert [u.id for u in await accounts.list_users(search="DOE")] == [jane.id]
    assert [u.id for u in await accounts.list_users(role=Role.ADMIN)] == [admin.id]
    assert [u.id for u in await accounts.list_users(offset=1, limit=1)] == [jane.id]


async def test_prune_login_attempts(accounts, db_session):
    db_session.add(
        LoginAttempt(email="a@b.org", ip="x", succeeded=False, at=utcnow() - timedelta(days=40))
    )
    db_session.add(LoginAttempt(email="a@b.org", ip="x", succeeded=False))
    await db_session.flush()
    assert await accounts.prune_login_attempts() == 1
    assert await _count(db_session, LoginAttempt) == 1


async def test_duplicate_caught_by_the_database_leaves_the_session_usable(accounts, monkeypatch):
    await accounts.register("jane@example.org", PASSWORD, "Jane")

    async def nobody(email):
        return None

    monkeypatch.setattr(accounts, "get_by_email", nobody)  # as if a concurrent request won
    with pytest.raises(Conflict):
        await accounts.register("jane@example.org", PASSWORD, "Jane again")
    monkeypatch.undo()
    assert (await accounts.register("joe@example.org", PASSWORD, "Joe")).id
