"""The chat: a UI-free turn service, and the REPL and renderers over it."""
