"""Rendering of config and definition files: Go templates and Jsonnet."""
