"""The web shell: a Litestar app with Jinja templates enhanced by htmx.

``create_app(settings)`` builds the app; ``web.asgi:app`` is what uvicorn serves.
"""

from web.app import create_app

__all__ = ["create_app"]
