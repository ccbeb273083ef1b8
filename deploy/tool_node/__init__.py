"""The tool node: the in-container HTTP server serving one tool, its image and the image build."""
