"""The site's main navigation, in one place.

Each entry names the role that sees it (None: everyone). An entry appears only once its route
exists in the running app, so a page added later shows up in the header by registering its
route; nothing here needs to change unless the label or the role changes.
"""

from __future__ import annotations

from collections.abc import Collection, Container
from dataclasses import dataclass

from pb.accounts import Role

__all__ = ["NAV", "NavItem", "nav_items"]


@dataclass(frozen=True)
class NavItem:
    label: str
    path: str
    role: Role | None = None


NAV: tuple[NavItem, ...] = (
    NavItem("Home", "/"),
    NavItem("Processes", "/processes"),
    NavItem("Results", "/results"),
    NavItem("Vote", "/vote", Role.RESIDENT),
    NavItem("Inbox", "/inbox", Role.RESIDENT),
    NavItem("My account", "/account", Role.RESIDENT),
    NavItem("Moderation", "/moderation", Role.MODERATOR),
    NavItem("Costing", "/costing", Role.VALUATOR),
    NavItem("Paper ballots", "/paper-ballots", Role.OFFICIAL),
    NavItem("Admin", "/admin/users", Role.ADMIN),
)


def nav_items(roles: Collection[Role], available: Container[str] | None = None) -> list[NavItem]:
    """The entries for someone holding ``roles`` (empty: anonymous), in display order.

    ``available`` holds the paths the app serves; entries for other paths are left out. Without
    it every entry the roles allow is returned.
    """
    return [
        item
        for item in NAV
        if (item.role is None or item.role in roles)
        and (available is None or item.path in available)
    ]
