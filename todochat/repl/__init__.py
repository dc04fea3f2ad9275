"""The interactive REPL: prompt-toolkit input, slash commands from a registry, and the chat
opened behind the prompt. A front end: it calls the core and renders with `todochat.ui`."""
