"""Output: terminal tables and Markdown (Rich), plain text for pipes, streamed replies, and
the file formats we write (JSON rows, atomic private files). Imports no store."""
