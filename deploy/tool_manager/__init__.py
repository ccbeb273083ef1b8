"""The tool manager: creates, tracks and proxies tool nodes (Ray actors owning Docker containers)."""
