"""``datajoint_core.diagram``: the public path of :class:`~datajoint_core.graph.diagram.Diagram`,
as the reference names its module (``dj.diagram``, loaded on first use)."""

from __future__ import annotations

from .graph.diagram import Diagram

# The reference sets this when it can draw diagrams; ours always can (Mermaid and DOT text
# need nothing; SVG uses Graphviz when it is installed).
diagram_active = True

__all__ = ["Diagram", "diagram_active"]
