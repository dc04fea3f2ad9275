"""Who may use the HTTP API: bearer tokens (made, listed, revoked, checked per request).

`tokens.ApiTokens` is what the core's `App.tokens` gives; `queries` holds its SQL.
"""
