"""HTTP controllers: thin layers that parse a request, call a service and render the answer."""

from web.controllers.admin import AdminController
from web.controllers.api import ApiController
from web.controllers.auth import AccountController, AuthController
from web.controllers.cast_api import api_cast
from web.controllers.cast_form import vote_cast
from web.controllers.consultations import (
    ConsultationAdminController,
    ConsultationController,
    ConsultationModerationController,
)
from web.controllers.costing import CostingController
from web.controllers.health import healthz
from web.controllers.home import home
from web.controllers.moderation import ModerationController
from web.controllers.paper import PaperBallotController
from web.controllers.processes import ProcessAdminController, ProcessController
from web.controllers.proposals import InboxController, ProposalController
from web.controllers.results import (
    ResultsAdminController,
    ResultsApiController,
    ResultsController,
)
from web.controllers.roll import RollController
from web.controllers.voting import ReceiptCheckController, VotingController

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
    VotingController,
    api_cast,
    vote_cast,
    ReceiptCheckController,
    RollController,
    PaperBallotController,
    ResultsController,
    ResultsAdminController,
    ResultsApiController,
    ConsultationController,
    ConsultationAdminController,
    ConsultationModerationController,
]

__all__ = [
    "AccountController",
    "AdminController",
    "ApiController",
    "AuthController",
    "ConsultationAdminController",
    "ConsultationController",
    "ConsultationModerationController",
    "CostingController",
    "InboxController",
    "ModerationController",
    "PaperBallotController",
    "ProcessAdminController",
    "ProcessController",
    "ProposalController",
    "ReceiptCheckController",
    "ResultsAdminController",
    "ResultsApiController",
    "ResultsController",
    "RollController",
    "VotingController",
    "healthz",
    "home",
    "api_cast",
    "vote_cast",
    "route_handlers",
]
