"""flask-smorest's Blueprint, with alternative responses documented without a wrapper per status,
and views that serve without flask-smorest's per-request wrappers.

`alt_response` only documents (its wrapper just calls the view), yet each one adds a call layer to
every request: the Initialize route had a dozen. Here the documentation lands on the view itself.

`plain` marks a view that answers with a `Response` of its own: flask-smorest's `doc` and
`response` wrappers would only pass it through (each asks Flask whether the view is a coroutine,
unpacks the answer and sets nothing). `serve_plain_views` puts such views under their endpoints
once the blueprint is registered, so the OpenAPI document is built from the decorated view as
before and requests skip the wrappers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flask_smorest
from flask import Flask


class Blueprint(flask_smorest.Blueprint):
    def alt_response(self, status_code: int | str, **kwargs: Any) -> Callable[[Any], Any]:
        document = super().alt_response(status_code, **kwargs)

        def decorator(view: Any) -> Any:
            view._apidoc = document(view)._apidoc
            return view

        return decorator

    def plain(self, view: Any) -> Any:
        """Serve this view as is (put it below the documenting decorators); see the module doc."""
        self.__dict__.setdefault("plain_views", {})[view.__name__] = view
        return view


def serve_plain_views(app: Flask, blueprint: Blueprint) -> None:
    """After `api.register_blueprint(blueprint)`: its `plain` views answer their endpoints."""
    for name, view in blueprint.__dict__.get("plain_views", {}).items():
        endpoint = f"{blueprint.name}.{name}"
        if endpoint not in app.view_functions:
            raise RuntimeError(f"{endpoint} is not registered")
        app.view_functions[endpoint] = view
