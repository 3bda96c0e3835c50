"""Rendering for people: HTML pages, inline SVG charts and the QA reports."""
