"""The ASGI entry point served by ``pb serve`` (``uvicorn web.asgi:app``)."""

from pb.settings import Settings
from web.app import create_app

app = create_app(Settings.from_env())
