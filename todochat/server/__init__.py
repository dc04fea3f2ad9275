"""`todochat serve`: the HTTP front end, the third beside the CLI and the REPL.

Routes parse, call the application core (`todochat.app.App`) once, and render JSON or a
stream of server-sent events; they never open a store or write SQL. FastAPI is imported
only here and by `todochat serve`, so other commands start as fast as before.
"""
