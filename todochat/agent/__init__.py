"""The LLM agent: tools, context, models, the offline model (memory is `todochat.memory`).

Importing this package does not import the Agents SDK.
"""
