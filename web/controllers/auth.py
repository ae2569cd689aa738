"""Registering, signing in and out, and the account pages.

Each form posts back to its own address. A browser without JavaScript gets the whole page again
(with the errors) or a 303 redirect on success; with htmx the form fragment is swapped in place
and success sends ``HX-Redirect``.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Response, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from pb.accounts import AccountService, User
from pb.errors import DomainError, InvalidInput, NotAuthenticated, Throttled
from pb.settings import Settings
from web.auth import Viewer, refresh_fingerprint, sign_in, sign_out
from web.render import page, redirect_after_post, safe_next
from web.session import flash

__all__ = ["AccountController", "AuthController"]

FORM_ERROR = "__form__"
MAX_FIELD_LENGTH = 1024


async def read_form(request: Request, *names: str) -> dict[str, str]:
    """The named text fields of a posted form (missing ones are empty; overlong ones cut)."""
    form = await request.form()
    values: dict[str, str] = {}
    for name in names:
        value = form.get(name)
        values[name] = value[:MAX_FIELD_LENGTH] if isinstance(value, str) else ""
    return values


def errors_for(exc: DomainError, default_field: str = FORM_ERROR) -> dict[str, str]:
    return {exc.field or default_field: exc.message}


def client_ip(request: Request) -> str:
    return request.client.host if request.client and request.client.host else "unknown"


class AuthController(Controller):
    include_in_schema = False

    @get("/register", name="register")
    async def register_form(self, request: Request, viewer: NamedDependency[Viewer]) -> Template:
        return self._register_page(request, viewer)

    @post("/register")
    async def register(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
    ) -> Response[Any]:
        values = await read_form(request, "email", "display_name", "password", "password_confirm")
        try:
            if values["password"] != values["password_confirm"]:
                raise InvalidInput("The two passwords do not match.", field="password_confirm")
            user = await AccountService(db_session, settings).register(
                values["email"], values["password"], values["display_name"]
            )
        except DomainError as exc:
            await db_session.rollback()
            return self._register_page(
                request, viewer, values=values, errors=errors_for(exc), status_code=exc.status_code
            )
        sign_in(request, user)
        flash(request, f"Welcome, {user.display_name}! Your account is ready.", "success")
        return redirect_after_post(request, "/")

    def _register_page(
        self,
        request: Request,
        viewer: Viewer,
        *,
        values: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        return page(
            request,
            "pages/register.html",
            partial="partials/register_form.html",
            viewer=viewer,
            values={
                "email": "",
                "display_name": "",
                **(values or {}),
                "password": "",
                "password_confirm": "",
            },
            errors=errors or {},
            status_code=status_code,
        )

    @get("/login", name="login")
    async def login_form(
        self,
        request: Request,
        viewer: NamedDependency[Viewer],
        next: Annotated[str | None, QueryParameter(max_length=2000)] = None,
    ) -> Template:
        return self._login_page(request, viewer, next_path=safe_next(next))

    @post("/login")
    async def login(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
    ) -> Response[Any]:
        values = await read_form(request, "email", "password", "next")
        next_path = safe_next(values["next"])
        try:
            user = await AccountService(db_session, settings).authenticate(
                values["email"], values["password"], client_ip(request)
            )
        except (NotAuthenticated, Throttled) as exc:
            # A failure is already recorded and committed by the service.
            headers = {}
            if isinstance(exc, Throttled) and exc.retry_after:
                headers["Retry-After"] = str(exc.retry_after)
            return self._login_page(
                request,
                viewer,
                next_path=next_path,
                email=values["email"],
                errors={FORM_ERROR: exc.message},
                status_code=exc.status_code,
                headers=headers,
            )
        sign_in(request, user)
        flash(request, f"Signed in as {user.display_name}.", "success")
        return redirect_after_post(request, next_path)

    def _login_page(
        self,
        request: Request,
        viewer: Viewer,
        *,
        next_path: str,
        email: str = "",
        errors: dict[str, str] | None = None,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
    ) -> Template:
        return page(
            request,
            "pages/login.html",
            partial="partials/login_form.html",
            viewer=viewer,
            values={"email": email, "next": next_path},
            errors=errors or {},
            status_code=status_code,
            headers=headers,
        )

    @post("/logout", name="logout")
    async def logout(self, request: Request) -> Response[Any]:
        sign_out(request)
        flash(request, "You have signed out.", "info")
        return redirect_after_post(request, "/")


class AccountController(Controller):
    path = "/account"
    include_in_schema = False

    @get("/", name="account")
    async def account(
        self, request: Request, viewer: NamedDependency[Viewer], current_user: NamedDependency[User]
    ) -> Template:
        return page(request, "pages/account.html", viewer=viewer, user=current_user)

    @get("/password", name="change_password")
    async def password_form(
        self, request: Request, viewer: NamedDependency[Viewer], current_user: NamedDependency[User]
    ) -> Template:
        return self._password_page(request, viewer)

    @post("/password")
    async def change_password(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
    ) -> Response[Any]:
        values = await read_form(request, "old_password", "new_password", "new_password_confirm")
        try:
            if values["new_password"] != values["new_password_confirm"]:
                raise InvalidInput(
                    "The two new passwords do not match.", field="new_password_confirm"
                )
            await AccountService(db_session, settings).change_password(
                current_user, values["old_password"], values["new_password"]
            )
        except DomainError as exc:
            await db_session.rollback()
            return self._password_page(
                request, viewer, errors=errors_for(exc), status_code=exc.status_code
            )
        refresh_fingerprint(request, current_user)
        flash(request, "Your password has been changed.", "success")
        return redirect_after_post(request, "/account")

    def _password_page(
        self,
        request: Request,
        viewer: Viewer,
        *,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        return page(
            request,
            "pages/password.html",
            partial="partials/password_form.html",
            viewer=viewer,
            errors=errors or {},
            status_code=status_code,
        )
