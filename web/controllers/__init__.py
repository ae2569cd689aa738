"""HTTP controllers: thin layers that parse a request, call a service and render the answer."""

from web.controllers.admin import AdminController
from web.controllers.api import ApiController
from web.controllers.auth import AccountController, AuthController
from web.controllers.costing import CostingController
from web.controllers.health import healthz
from web.controllers.home import home
from web.controllers.moderation import ModerationController
from web.controllers.processes import ProcessAdminController, ProcessController
from web.controllers.proposals import InboxController, ProposalController

route_handlers = [
    home,
    healthz,
    AuthController,
    AccountController,
    AdminController,
    ProcessController,
    ProcessAdminController,
    ProposalController,
    InboxController,
    ModerationController,
    CostingController,
    ApiController,
]

__all__ = [
    "AccountController",
    "AdminController",
    "ApiController",
    "AuthController",
    "CostingController",
    "InboxController",
    "ModerationController",
    "ProcessAdminController",
    "ProcessController",
    "ProposalController",
    "healthz",
    "home",
    "route_handlers",
]
