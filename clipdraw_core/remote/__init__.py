"""Remote compute: ``clipdraw-server`` runs sessions on a GPU box for remote windows and CLIs.

:mod:`.protocol` holds the wire format and its validation, :mod:`.server` the aiohttp
server, :mod:`.client` the client used by ``clipdraw-cli --server`` (and the app).
"""
