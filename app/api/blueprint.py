"""flask-smorest's Blueprint, with alternative responses documented without a wrapper per status.

`alt_response` only documents (its wrapper just calls the view), yet each one adds a call layer to
every request: the Initialize route had a dozen. Here the documentation lands on the view itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flask_smorest


class Blueprint(flask_smorest.Blueprint):
    def alt_response(self, status_code: int | str, **kwargs: Any) -> Callable[[Any], Any]:
        document = super().alt_response(status_code, **kwargs)

        def decorator(view: Any) -> Any:
            view._apidoc = document(view)._apidoc
            return view

        return decorator
