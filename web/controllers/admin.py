"""Administration: the list of users and their roles (admins only)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Response, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from pb.accounts import AccountService, Role, User
from pb.errors import DomainError
from pb.settings import Settings
from web.auth import Viewer, requires_role
from web.render import is_htmx, page, redirect_after_post
from web.session import flash

__all__ = ["AdminController"]

PAGE_SIZE = 50
# Roles an administrator can give or take; every account is a resident regardless.
ASSIGNABLE_ROLES: tuple[Role, ...] = tuple(r for r in Role if r is not Role.RESIDENT)


class AdminController(Controller):
    path = "/admin"
    guards = [requires_role(Role.ADMIN)]
    include_in_schema = False

    @get("/users", name="admin_users")
    async def users(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        q: Annotated[str | None, QueryParameter(max_length=200)] = None,
        page_number: Annotated[int, QueryParameter(name="page", ge=1, le=100_000)] = 1,
    ) -> Template:
        accounts = AccountService(db_session, settings)
        found = await accounts.list_users(
            search=q or None, offset=(page_number - 1) * PAGE_SIZE, limit=PAGE_SIZE + 1
        )
        rows = [
            {"user": user, "roles": await accounts.roles_of(user.id)}  # type: ignore[arg-type]
            for user in found[:PAGE_SIZE]
        ]
        return page(
            request,
            "pages/admin_users.html",
            viewer=viewer,
            rows=rows,
            assignable_roles=ASSIGNABLE_ROLES,
            q=q or "",
            page_number=page_number,
            has_next=len(found) > PAGE_SIZE,
        )

    @post("/users/{user_id:int}/roles", name="admin_user_roles")
    async def set_roles(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        viewer: NamedDependency[Viewer],
        current_user: NamedDependency[User],
        user_id: FromPath[int],
    ) -> Response[Any]:
        form = await request.form()
        wanted = [value for value in form.getall("roles", []) if isinstance(value, str)]
        accounts = AccountService(db_session, settings)
        target = await accounts.get(user_id)
        try:
            roles = await accounts.set_roles(current_user, user_id, wanted)
        except DomainError as exc:
            await db_session.rollback()
            if not is_htmx(request):
                raise
            target = await accounts.get(user_id)
            flash(request, exc.message, "error")
            return self._row(
                request,
                viewer,
                target,
                await accounts.roles_of(user_id),
                error=exc.message,
                status_code=exc.status_code,
            )
        message = f"Roles of {target.display_name} saved."
        flash(request, message, "success")
        if is_htmx(request):
            return self._row(request, viewer, target, roles, saved="Saved.")
        return redirect_after_post(request, "/admin/users")

    def _row(
        self,
        request: Request,
        viewer: Viewer,
        user: User,
        roles: set[Role],
        *,
        saved: str = "",
        error: str = "",
        status_code: int = 200,
    ) -> Template:
        return page(
            request,
            "pages/admin_users.html",
            partial="partials/user_row.html",
            viewer=viewer,
            row={"user": user, "roles": roles},
            assignable_roles=ASSIGNABLE_ROLES,
            saved=saved,
            error=error,
            status_code=status_code,
        )
