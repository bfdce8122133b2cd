"""Phiacta: a GraphQL knowledge-graph server for scientific claims."""

__version__ = "0.1.0"
