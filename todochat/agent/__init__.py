"""The LLM agent: todo_agent (tools), context, models, the offline model. Memory is todochat.memory."""
