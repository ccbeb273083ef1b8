"""The Gradio multi-role chat room: stories, a director, one set of agents per browser session."""
