"""The render layer: Rich renderables for the terminal (never printed here),
JSON documents, LaTeX and Markdown, and JUnit XML.

Only this layer and the CLI import rich.
"""
