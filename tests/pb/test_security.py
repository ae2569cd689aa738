from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pb import security
from pb.security import (
    check_password_strength,
    hash_password,
    needs_rehash,
    new_token,
    token_hash,
    verify_password,
)


async def test_hash_round_trip(settings):
    hashed = await hash_password("correct horse 42", settings)
    assert hashed.startswith("$argon2id$")
    assert "correct horse" not in hashed
    assert await verify_password(hashed, "correct horse 42", settings)


async def test_wrong_password_and_garbage_hash_do_not_verify(settings):
    hashed = await hash_password("correct horse 42", settings)
    assert not await verify_password(hashed, "correct horse 43", settings)
    assert not await verify_password("not-a-hash", "correct horse 42", settings)


async def test_same_password_gets_different_salts(settings):
    assert await hash_password("correct horse 42", settings) != await hash_password(
        "correct horse 42", settings
    )


async def test_needs_rehash_when_cost_changes(settings):
    hashed = await hash_password("correct horse 42", settings)
    assert not needs_rehash(hashed, settings)
    stronger = replace(settings, argon2_time_cost=settings.argon2_time_cost + 1)
    assert needs_rehash(hashed, stronger)
    assert await verify_password(hashed, "correct horse 42", stronger)  # old hashes still work
    assert needs_rehash("garbage", settings)


async def test_hashing_runs_off_the_event_loop(settings, monkeypatch):
    loop_thread = threading.get_ident()
    seen: list[int] = []
    real = security._hasher

    class Spy:
        def __init__(self, hasher):
            self.hasher = hasher

        def hash(self, password):
            seen.append(threading.get_ident())
            return self.hasher.hash(password)

        def verify(self, hashed, password):
            seen.append(threading.get_ident())
            return self.hasher.verify(hashed, password)

    monkeypatch.setattr(security, "_hasher", lambda t, m: Spy(real(t, m)))
    hashed = await hash_password("correct horse 42", settings)
    assert await verify_password(hashed, "correct horse 42", settings)
    assert len(seen) == 2
    assert loop_thread not in seen


@pytest.mark.parametrize(
    ("password", "email", "problem"),
    [
        ("short1!", "", "at least 10"),
        ("x" * 257 + "1", "", "at most 256"),
        ("alllowercaseletters", "", "Mix"),
        ("12345678901234", "", "Mix"),
        ("ababababab12", "", None),
        ("aaaaaaaaa1", "", "different characters"),
        ("Password123", "", "too common"),
        ("jane.doe@example.org", "Jane.Doe@example.org", "e-mail"),
        ("Jane.Doe.1980", "jane.doe.1980@example.org", "e-mail"),
        ("correct horse battery staple", "jane@example.org", None),
        ("Tr0ub4dor&3x", "jane@example.org", None),
    ],
)
def test_password_strength(password, email, problem):
    result = check_password_strength(password, email)
    if problem is None:
        assert result is None
    else:
        assert result is not None and problem in result


@given(st.text(max_size=9))
def test_short_passwords_are_always_refused(password):
    assert check_password_strength(password) is not None


def test_tokens_are_random_and_hashes_stable():
    a, b = new_token(), new_token()
    assert a != b and len(a) >= 43
    assert len(new_token(16)) < len(a)
    assert token_hash(a) == token_hash(a) != token_hash(b)
    assert len(token_hash(a)) == 64 and int(token_hash(a), 16) >= 0
