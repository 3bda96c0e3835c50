"""The PLUTO-lite demo: seeded sample sources (../shared/PLUTO_LITE.md) and their templates."""

from lakehouse.demo.generator import MAX_LOTS, SOURCE_FILES, generate_pluto_lite
from lakehouse.demo.templates import demo_template_text, write_demo_templates
from lakehouse.demo.writer import DemoFiles, write_demo

__all__ = [
    "MAX_LOTS",
    "SOURCE_FILES",
    "DemoFiles",
    "demo_template_text",
    "generate_pluto_lite",
    "write_demo",
    "write_demo_templates",
]
