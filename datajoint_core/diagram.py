"""``datajoint_core.diagram``: the public path of :class:`~datajoint_core.graph.diagram.Diagram`,
as the reference names its module (``dj.diagram``, loaded on first use)."""

from __future__ import annotations

from importlib.util import find_spec

from .graph.diagram import Diagram

# True where Diagram.make_dot can build its pydot graph, as the reference sets it (Mermaid text
# needs nothing; SVG and PNG need the Graphviz ``dot`` program).
diagram_active = find_spec("pydot") is not None

__all__ = ["Diagram", "diagram_active"]
