"""Ray Serve deployments, the tool-node image and server, Serve configs, job entry points."""
