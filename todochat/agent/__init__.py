"""The agent and its memory. Importing this package does not import the Agents SDK."""
