"""End-user apps (the Gradio multi-role chat room)."""
