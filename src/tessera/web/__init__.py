"""The web app: pages for contributors, clients, builders, operators and token holders.

    tessera web                      # http://127.0.0.1:8710, on this home
    create_web_app(home, ...)        # the same app, to mount elsewhere (a node does)

Like the CLI, it is a person-facing surface over `tessera`'s public API and imports nothing
deeper. Pages are rendered on the server (Jinja2, autoescaped) so every number arrives with
its link to the chain or to a signed document; a little JavaScript, served from here, talks
to a browser wallet (EIP-1193) and verifies receipts, never to a CDN.
"""

from __future__ import annotations

from tessera.web.app import WebConfig, create_web_app, mount_web_app

__all__ = ["WebConfig", "create_web_app", "mount_web_app"]
