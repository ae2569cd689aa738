"""The front page."""

from __future__ import annotations

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Template

from web.auth import Viewer
from web.render import page


@get("/", name="home", include_in_schema=False)
async def home(request: Request, viewer: NamedDependency[Viewer]) -> Template:
    return page(request, "pages/home.html", viewer=viewer)
