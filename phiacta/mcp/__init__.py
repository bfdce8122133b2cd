"""The Model Context Protocol server: Phiacta's tools, resources and prompts for agents."""
